-- Projects (a copy of the dispatcher's, from ProjectChanged), contractors' profiles,
-- qualifications, blocks, and the eligibility index that joins them.

CREATE TABLE projects (
    project_id                text PRIMARY KEY,  -- a UUID; text like open_tasks.project_id
    client_id                 text NOT NULL,
    revision                  bigint NOT NULL,
    title                     text NOT NULL,
    instructions              text NOT NULL,
    requirements              jsonb NOT NULL,  -- [{"q": name, "c": comparator, "v": [values]}]
    priority                  integer NOT NULL,
    max_claims_per_contractor integer NOT NULL,  -- 0: no limit
    -- The current pay terms; a claim copies them when it is granted.
    terms_version             integer NOT NULL,
    terms_basis               text NOT NULL CHECK (terms_basis IN ('per_submission', 'hourly')),
    rate_currency             text NOT NULL,
    rate_minor                bigint NOT NULL CHECK (rate_minor > 0),
    max_paid_seconds          integer NOT NULL,
    updated_at                timestamptz NOT NULL
);

ALTER TABLE contractors
    ADD COLUMN domains               text[] NOT NULL DEFAULT '{}',
    ADD COLUMN languages             text[] NOT NULL DEFAULT '{}',
    ADD COLUMN locale                text NOT NULL DEFAULT '',
    ADD COLUMN max_concurrent_claims integer NOT NULL DEFAULT 3 CHECK (max_concurrent_claims > 0),
    ADD COLUMN referred_by           text REFERENCES contractors (contractor_id),
    ADD COLUMN active                boolean NOT NULL DEFAULT true,
    ADD COLUMN active_claims         integer NOT NULL DEFAULT 0 CHECK (active_claims >= 0),
    ADD COLUMN revision              bigint NOT NULL DEFAULT 1,
    ADD COLUMN updated_at            timestamptz;
UPDATE contractors SET updated_at = created_at;
ALTER TABLE contractors ALTER COLUMN updated_at SET NOT NULL;

CREATE TABLE qualification_types (
    name        text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('score', 'presence', 'string')),
    description text NOT NULL,
    created_at  timestamptz NOT NULL
);

-- What each contractor holds now.
CREATE TABLE contractor_qualifications (
    contractor_id text NOT NULL REFERENCES contractors (contractor_id),
    qualification text NOT NULL REFERENCES qualification_types (name),
    score         integer CHECK (score BETWEEN 0 AND 100),
    text_value    text,
    granted_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (contractor_id, qualification)
);
CREATE INDEX contractor_qualifications_by_type ON contractor_qualifications (qualification);

-- Every grant, change and revocation, oldest first.
CREATE TABLE qualification_history (
    entry_id      bigserial PRIMARY KEY,
    contractor_id text NOT NULL REFERENCES contractors (contractor_id),
    qualification text NOT NULL REFERENCES qualification_types (name),
    change        text NOT NULL CHECK (change IN ('granted', 'updated', 'revoked')),
    score         integer,
    text_value    text,
    reason        text NOT NULL DEFAULT '',
    changed_at    timestamptz NOT NULL
);
CREATE INDEX qualification_history_by_contractor ON qualification_history (contractor_id, entry_id);

CREATE TABLE blocks (
    block_id      text PRIMARY KEY,  -- operator-chosen: BlockContractor is idempotent on it
    contractor_id text NOT NULL REFERENCES contractors (contractor_id),
    project_id    text,              -- NULL: every project
    reason        text NOT NULL,
    blocked_at    timestamptz NOT NULL,
    lifted_at     timestamptz
);
CREATE INDEX blocks_in_force ON blocks (contractor_id, project_id) WHERE lifted_at IS NULL;

-- The eligibility index: (contractor, project) for every active, unblocked contractor
-- who meets the project's requirements. Kept in the transaction that changes any of
-- its inputs, under one advisory lock, so it is never stale.
CREATE TABLE eligibility (
    contractor_id text NOT NULL,
    project_id    text NOT NULL,
    PRIMARY KEY (contractor_id, project_id)
);
CREATE INDEX eligibility_by_project ON eligibility (project_id, contractor_id);

-- The pool gains what offers show and claims check.
ALTER TABLE open_tasks
    DROP COLUMN reward_currency,
    DROP COLUMN reward_minor,
    DROP COLUMN instructions,
    ADD COLUMN priority      integer NOT NULL DEFAULT 0,
    ADD COLUMN own_priority  boolean NOT NULL DEFAULT false,  -- else it follows the project's
    ADD COLUMN expires_at    timestamptz,
    ADD COLUMN payload_json  text,
    ADD COLUMN payload_bytes bytea;
DROP INDEX open_tasks_with_free_slots;
DROP INDEX open_tasks_of_project_with_free_slots;
-- Offers of one project: highest priority first, then oldest.
CREATE INDEX open_tasks_offered ON open_tasks (project_id, (-priority), published_at, task_id)
    WHERE free_slots > 0;

-- A claim freezes the terms it was granted under.
ALTER TABLE claims
    ADD COLUMN project_id       text,
    ADD COLUMN terms_version    integer,
    ADD COLUMN terms_basis      text,
    ADD COLUMN max_paid_seconds integer NOT NULL DEFAULT 0;
ALTER TABLE claims RENAME COLUMN reward_currency TO rate_currency;
ALTER TABLE claims RENAME COLUMN reward_minor TO rate_minor;
UPDATE claims c SET project_id = t.project_id, terms_version = 1, terms_basis = 'per_submission'
    FROM open_tasks t WHERE t.task_id = c.task_id;
ALTER TABLE claims
    ALTER COLUMN project_id SET NOT NULL,
    ALTER COLUMN terms_version SET NOT NULL,
    ALTER COLUMN terms_basis SET NOT NULL;
CREATE INDEX claims_active_by_contractor ON claims (contractor_id) WHERE status = 'active';

-- Claims each contractor has taken in each project, for max_claims_per_contractor.
CREATE TABLE project_claim_counts (
    contractor_id text NOT NULL,
    project_id    text NOT NULL,
    claims        integer NOT NULL,
    PRIMARY KEY (contractor_id, project_id)
);

-- ClaimTask in one round trip: every check, the grant and its ClaimGranted event,
-- in one statement. The caller builds the event from the project and pay terms it
-- expects (cached: a task never changes project, terms rarely change); when they are
-- not the project's current ones the outcome is STALE, nothing changes, and the
-- caller retries with fresh ones. The contractor's row lock orders that contractor's
-- claims (limits, one claim per task); the task's row lock, taken last and held
-- shortest, orders the race for its slots. outcome: GRANTED, EXISTING (this request
-- id already made claim_id), STALE, NOT_FOUND, NOT_QUALIFIED, BLOCKED,
-- ALREADY_CLAIMED, AT_CLAIM_LIMIT or NO_FREE_SLOT; only GRANTED changed anything.
-- A grant that fills the task notifies the offer streams
-- (crewline_offers, "c:<task>:<contractor>:0").
CREATE FUNCTION claim_task(
    p_claim_id uuid, p_task_id uuid, p_contractor_id text, p_request_id text, p_now timestamptz,
    p_project_id text, p_terms_version integer,
    p_event_id uuid, p_topic text, p_key bytea, p_envelope bytea, p_correlation_id text
) RETURNS TABLE (outcome text, claim_id uuid, free_slots integer, project_id text,
                 terms_version integer, terms_basis text, rate_currency text, rate_minor bigint,
                 max_paid_seconds integer, instructions text, payload_json text,
                 payload_bytes bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t open_tasks%ROWTYPE;
    p projects%ROWTYPE;
    c contractors%ROWTYPE;
    taken integer;
BEGIN
    -- Concurrent copies of one request queue here; each later copy finds the claim.
    PERFORM pg_advisory_xact_lock(hashtextextended(p_contractor_id || chr(31) || p_request_id, 0));
    SELECT cl.claim_id INTO claim_id FROM claims cl
        WHERE cl.contractor_id = p_contractor_id AND cl.request_id = p_request_id;
    IF FOUND THEN
        outcome := 'EXISTING';
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT * INTO t FROM open_tasks ot WHERE ot.task_id = p_task_id;
    IF FOUND THEN
        SELECT * INTO p FROM projects pr WHERE pr.project_id = t.project_id;
    END IF;
    IF NOT FOUND OR (t.expires_at IS NOT NULL AND t.expires_at <= p_now) THEN
        outcome := 'NOT_FOUND';  -- unknown, expired, or its project not known here yet
        RETURN NEXT;
        RETURN;
    END IF;
    IF t.project_id IS DISTINCT FROM p_project_id
       OR p.terms_version IS DISTINCT FROM p_terms_version THEN
        outcome := 'STALE';
        project_id := t.project_id;
        terms_version := p.terms_version;
        terms_basis := p.terms_basis;
        rate_currency := p.rate_currency;
        rate_minor := p.rate_minor;
        max_paid_seconds := p.max_paid_seconds;
        RETURN NEXT;
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM eligibility e
                   WHERE e.contractor_id = p_contractor_id AND e.project_id = t.project_id) THEN
        IF EXISTS (SELECT 1 FROM blocks b WHERE b.contractor_id = p_contractor_id
                   AND b.lifted_at IS NULL
                   AND (b.project_id IS NULL OR b.project_id = t.project_id)) THEN
            outcome := 'BLOCKED';
        ELSE
            outcome := 'NOT_QUALIFIED';
        END IF;
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT * INTO c FROM contractors co WHERE co.contractor_id = p_contractor_id FOR NO KEY UPDATE;
    IF EXISTS (SELECT 1 FROM claims cl
               WHERE cl.task_id = p_task_id AND cl.contractor_id = p_contractor_id) THEN
        outcome := 'ALREADY_CLAIMED';
        RETURN NEXT;
        RETURN;
    END IF;
    IF c.active_claims >= c.max_concurrent_claims THEN
        outcome := 'AT_CLAIM_LIMIT';
        RETURN NEXT;
        RETURN;
    END IF;
    IF p.max_claims_per_contractor > 0 THEN
        SELECT pc.claims INTO taken FROM project_claim_counts pc
            WHERE pc.contractor_id = p_contractor_id AND pc.project_id = t.project_id;
        IF COALESCE(taken, 0) >= p.max_claims_per_contractor THEN
            outcome := 'AT_CLAIM_LIMIT';
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    UPDATE open_tasks ot SET free_slots = ot.free_slots - 1
        WHERE ot.task_id = p_task_id AND ot.free_slots > 0
        RETURNING ot.free_slots INTO free_slots;
    IF NOT FOUND THEN
        outcome := 'NO_FREE_SLOT';
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO claims (claim_id, task_id, contractor_id, request_id, status, rate_currency,
                        rate_minor, version, granted_at, project_id, terms_version, terms_basis,
                        max_paid_seconds)
        VALUES (p_claim_id, p_task_id, p_contractor_id, p_request_id, 'active', p.rate_currency,
                p.rate_minor, 1, p_now, t.project_id, p.terms_version, p.terms_basis,
                p.max_paid_seconds);
    UPDATE contractors co SET active_claims = co.active_claims + 1
        WHERE co.contractor_id = p_contractor_id;
    -- Counted whether or not the project has a limit now: it may set one later.
    INSERT INTO project_claim_counts AS pc (contractor_id, project_id, claims)
        VALUES (p_contractor_id, t.project_id, 1)
        ON CONFLICT (contractor_id, project_id) DO UPDATE SET claims = pc.claims + 1;
    PERFORM outbox_enqueue(p_event_id, p_topic, p_key, p_envelope, p_correlation_id);
    IF free_slots = 0 THEN
        PERFORM pg_notify('crewline_offers', 'c:' || p_task_id || ':' || p_contractor_id || ':0');
    END IF;
    outcome := 'GRANTED';
    claim_id := p_claim_id;
    project_id := t.project_id;
    terms_version := p.terms_version;
    terms_basis := p.terms_basis;
    rate_currency := p.rate_currency;
    rate_minor := p.rate_minor;
    max_paid_seconds := p.max_paid_seconds;
    instructions := p.instructions;
    payload_json := t.payload_json;
    payload_bytes := t.payload_bytes;
    RETURN NEXT;
END;
$$;
