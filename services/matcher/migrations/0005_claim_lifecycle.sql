-- The claim lifecycle (issue 7): leases, heartbeats, release, expiry, and tasks and
-- projects that stop taking claims (cancelled, expired, paused, closed).

-- The matcher's copy of a project gains its claim timeout and its state.
ALTER TABLE projects
    ADD COLUMN claim_timeout_seconds integer NOT NULL DEFAULT 3600
        CHECK (claim_timeout_seconds > 0),
    ADD COLUMN state text NOT NULL DEFAULT 'active'
        CHECK (state IN ('active', 'paused', 'closed'));

-- A task's lifecycle, as the dispatcher's TaskChanged says (the highest revision wins;
-- TaskPublished is revision 0 here). Only live tasks take claims and are offered.
ALTER TABLE open_tasks
    ADD COLUMN lifecycle text NOT NULL DEFAULT 'live'
        CHECK (lifecycle IN ('live', 'cancelled', 'expired')),
    ADD COLUMN revision bigint NOT NULL DEFAULT 0;
DROP INDEX open_tasks_offered;
CREATE INDEX open_tasks_offered ON open_tasks (project_id, (-priority), published_at, task_id)
    WHERE free_slots > 0 AND lifecycle = 'live';

-- A claim is live ('active') until work is submitted ('submitted') or it ends without
-- work ('ended': released, or its lease ran out). Its lease is frozen at the grant:
-- deadline_at moves with heartbeats (by lease_seconds), never past max_deadline_at.
-- cut: the client cancelled the task or paused or closed the project while it was
-- live; the reason it ends with if its lease runs out.
ALTER TABLE claims DROP CONSTRAINT claims_status_check;
ALTER TABLE claims
    ADD CONSTRAINT claims_status_check CHECK (status IN ('active', 'submitted', 'ended')),
    ADD COLUMN client_id       text,
    ADD COLUMN lease_seconds   integer,
    ADD COLUMN deadline_at     timestamptz,
    ADD COLUMN max_deadline_at timestamptz,
    ADD COLUMN worked_seconds  bigint NOT NULL DEFAULT 0 CHECK (worked_seconds >= 0),
    ADD COLUMN end_reason      text CHECK (end_reason IN (
        'submitted', 'released', 'expired', 'task_cancelled', 'task_expired',
        'project_paused', 'project_closed')),
    ADD COLUMN ended_at        timestamptz,
    ADD COLUMN cut             text CHECK (cut IN (
        'task_cancelled', 'project_paused', 'project_closed'));
-- Claims from before leases: live ones get a fresh lease from now (no clock was ever
-- set for them), submitted ones their end.
UPDATE claims c SET client_id = t.client_id, lease_seconds = 3600
    FROM open_tasks t WHERE t.task_id = c.task_id;
UPDATE claims SET
    deadline_at = CASE WHEN status = 'active' THEN now() ELSE granted_at END
        + make_interval(secs => lease_seconds),
    max_deadline_at = CASE WHEN status = 'active' THEN now() ELSE granted_at END
        + make_interval(secs => 4 * lease_seconds),
    end_reason = CASE WHEN status = 'submitted' THEN 'submitted' END,
    ended_at = submitted_at;
ALTER TABLE claims
    ALTER COLUMN client_id SET NOT NULL,
    ALTER COLUMN lease_seconds SET NOT NULL,
    ALTER COLUMN deadline_at SET NOT NULL,
    ALTER COLUMN max_deadline_at SET NOT NULL,
    ADD CONSTRAINT claims_lease_within_maximum CHECK (deadline_at <= max_deadline_at);

-- ListMyClaims: a contractor's claims, newest first.
CREATE INDEX claims_by_contractor_newest ON claims (contractor_id, granted_at DESC, claim_id DESC);
-- Pausing or closing a project cuts its live claims: found by project, not by scan.
-- (A task's claims are found by the (task_id, contractor_id) unique index.)
CREATE INDEX claims_live_uncut_by_project ON claims (project_id) WHERE status = 'active' AND cut IS NULL;

-- A contractor's concurrent claims are counted from the claims themselves (at most
-- max_concurrent_claims rows, by claims_active_by_contractor), so ending a claim
-- never locks the contractor's row: the ends of claims (submission, release, expiry)
-- lock only their task and claim rows, always in that order.
ALTER TABLE contractors DROP COLUMN active_claims;

DROP FUNCTION claim_task(uuid, uuid, text, text, timestamptz, text, integer, uuid, text, bytea,
                         bytea, text);

-- ClaimTask in one round trip, as in 0003, with leases and closed tasks. The caller
-- builds the ClaimGranted event (and the lease it carries: p_lease_seconds,
-- p_deadline_at, p_max_deadline_at) from the project revision it expects; when that is
-- not the project's current revision the outcome is STALE, nothing changes, and the
-- caller retries with the returned one. So a changed claim timeout, pay terms or state
-- is never applied from a stale cache.
--
-- A task that is cancelled or expired, or whose project is paused or closed, is
-- TASK_CLOSED. The project's shared advisory lock (taken before its row is read, held
-- to commit) orders every grant against a pause or close (which takes it exclusively
-- before it cuts the project's live claims), so no grant slips in between; the task's
-- row lock does the same against a cancel.
--
-- outcome: GRANTED, EXISTING (this request id already made claim_id), STALE,
-- NOT_FOUND, TASK_CLOSED, NOT_QUALIFIED, BLOCKED, ALREADY_CLAIMED, AT_CLAIM_LIMIT or
-- NO_FREE_SLOT; only GRANTED changed anything. A grant that fills the task notifies
-- the offer streams (crewline_offers, "c:<task>:<contractor>:0").
CREATE FUNCTION claim_task(
    p_claim_id uuid, p_task_id uuid, p_contractor_id text, p_request_id text, p_now timestamptz,
    p_project_id text, p_revision bigint,
    p_event_id uuid, p_topic text, p_key bytea, p_envelope bytea, p_correlation_id text,
    p_lease_seconds integer, p_deadline_at timestamptz, p_max_deadline_at timestamptz
) RETURNS TABLE (outcome text, claim_id uuid, free_slots integer, project_id text,
                 client_id text, revision bigint, claim_timeout_seconds integer,
                 terms_version integer, terms_basis text, rate_currency text, rate_minor bigint,
                 max_paid_seconds integer, instructions text, payload_json text,
                 payload_bytes bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t open_tasks%ROWTYPE;
    p projects%ROWTYPE;
    c contractors%ROWTYPE;
    held integer;
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
        PERFORM pg_advisory_xact_lock_shared(hashtextextended('project' || chr(31) || t.project_id, 0));
        SELECT * INTO p FROM projects pr WHERE pr.project_id = t.project_id;
    END IF;
    IF NOT FOUND THEN
        outcome := 'NOT_FOUND';  -- unknown, or its project not known here yet
        RETURN NEXT;
        RETURN;
    END IF;
    IF t.lifecycle <> 'live' OR (t.expires_at IS NOT NULL AND t.expires_at <= p_now)
       OR p.state <> 'active' THEN
        outcome := 'TASK_CLOSED';
        RETURN NEXT;
        RETURN;
    END IF;
    IF t.project_id IS DISTINCT FROM p_project_id OR p.revision IS DISTINCT FROM p_revision THEN
        outcome := 'STALE';
        project_id := t.project_id;
        client_id := p.client_id;
        revision := p.revision;
        claim_timeout_seconds := p.claim_timeout_seconds;
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
    -- Live claims whose deadline has not passed (one past it can no longer take work).
    SELECT count(*) INTO held FROM claims cl
        WHERE cl.contractor_id = p_contractor_id AND cl.status = 'active'
        AND cl.deadline_at > p_now;
    IF held >= c.max_concurrent_claims THEN
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
    -- Rechecked under the task's row lock: a cancel that committed meanwhile wins.
    UPDATE open_tasks ot SET free_slots = ot.free_slots - 1
        WHERE ot.task_id = p_task_id AND ot.free_slots > 0 AND ot.lifecycle = 'live'
        RETURNING ot.free_slots INTO free_slots;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM open_tasks ot
                   WHERE ot.task_id = p_task_id AND ot.lifecycle <> 'live') THEN
            outcome := 'TASK_CLOSED';
        ELSE
            outcome := 'NO_FREE_SLOT';
        END IF;
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO claims (claim_id, task_id, contractor_id, request_id, status, rate_currency,
                        rate_minor, version, granted_at, project_id, terms_version, terms_basis,
                        max_paid_seconds, client_id, lease_seconds, deadline_at, max_deadline_at)
        VALUES (p_claim_id, p_task_id, p_contractor_id, p_request_id, 'active', p.rate_currency,
                p.rate_minor, 1, p_now, t.project_id, p.terms_version, p.terms_basis,
                p.max_paid_seconds, p.client_id, p_lease_seconds, p_deadline_at,
                p_max_deadline_at);
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
    client_id := p.client_id;
    revision := p.revision;
    claim_timeout_seconds := p.claim_timeout_seconds;
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
