-- Reserved tasks: a gold task the quality service issued to one contractor reaches the
-- pool from TaskPublished.reserved_for (NULL for every other task). It is offered to
-- that contractor alone, while they are eligible for its project as for any task; to
-- anyone else it does not exist: claim_task() answers NOT_FOUND by the same path as a
-- task id never published, and its batch takes no lock on it for them. The dispatcher
-- ends it (TaskChanged, cancelled) once its contractor's claim on it ends; to them it
-- then reads as any task they claimed: ALREADY_CLAIMED while it would be open, not
-- TASK_CLOSED, and no withdrawal on their streams.
ALTER TABLE open_tasks ADD COLUMN reserved_for text;

-- A reserved task that its contractor's claim ended: cancelled by the dispatcher after
-- that claim ended, and not cut short by its client's cancel while live (that task was
-- cancelled as any other, and says so).
CREATE FUNCTION ended_with_its_claim(p_task_id uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM open_tasks t
        JOIN claims c ON c.task_id = t.task_id AND c.contractor_id = t.reserved_for
        WHERE t.task_id = p_task_id AND t.lifecycle = 'cancelled' AND c.status <> 'active'
          AND c.cut IS DISTINCT FROM 'task_cancelled')
$$;

-- claim_task() as in 0005, with two changes: the task is read only if it is reserved
-- for no one or for the caller, and a reserved task its contractor's claim ended is
-- not TASK_CLOSED to them. Everything else is unchanged.
CREATE OR REPLACE FUNCTION claim_task(
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
    -- A task reserved for another contractor is not there for this one: the same path,
    -- locks and answer as a task that does not exist.
    SELECT * INTO t FROM open_tasks ot WHERE ot.task_id = p_task_id
        AND (ot.reserved_for IS NULL OR ot.reserved_for = p_contractor_id);
    IF FOUND THEN
        PERFORM pg_advisory_xact_lock_shared(hashtextextended('project' || chr(31) || t.project_id, 0));
        SELECT * INTO p FROM projects pr WHERE pr.project_id = t.project_id;
    END IF;
    IF NOT FOUND THEN
        outcome := 'NOT_FOUND';  -- unknown, or its project not known here yet
        RETURN NEXT;
        RETURN;
    END IF;
    IF (t.lifecycle <> 'live' OR (t.expires_at IS NOT NULL AND t.expires_at <= p_now)
        OR p.state <> 'active')
       -- A reserved task its contractor's claim ended reads, to them, as an ordinary
       -- task they claimed that is still open: on to ALREADY_CLAIMED below.
       AND NOT (t.lifecycle = 'cancelled' AND (t.expires_at IS NULL OR t.expires_at > p_now)
                AND p.state = 'active' AND ended_with_its_claim(p_task_id)) THEN
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

-- claim_tasks() as in 0007, its locks taken only on the tasks claim_task() will lock.
CREATE OR REPLACE FUNCTION claim_tasks(
    p_claim_ids uuid[], p_task_ids uuid[], p_contractor_ids text[], p_request_ids text[],
    p_nows timestamptz[], p_project_ids text[], p_revisions bigint[],
    p_event_ids uuid[], p_topics text[], p_keys bytea[], p_envelopes bytea[],
    p_correlation_ids text[], p_lease_seconds integer[], p_deadline_ats timestamptz[],
    p_max_deadline_ats timestamptz[]
) RETURNS TABLE (ord integer, outcome text, claim_id uuid, free_slots integer,
                 project_id text, client_id text, revision bigint,
                 claim_timeout_seconds integer, terms_version integer, terms_basis text,
                 rate_currency text, rate_minor bigint, max_paid_seconds integer,
                 instructions text, payload_json text, payload_bytes bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(l.k) FROM (
        SELECT DISTINCT hashtextextended(r.c || chr(31) || r.q, 0) AS k
        FROM unnest(p_contractor_ids, p_request_ids) AS r(c, q) ORDER BY 1) l;
    -- Only the tasks each claim's contractor can see: claim_task() takes no lock on a
    -- task reserved for another, and neither may its batch.
    PERFORM pg_advisory_xact_lock_shared(l.k) FROM (
        SELECT DISTINCT hashtextextended('project' || chr(31) || ot.project_id, 0) AS k
        FROM unnest(p_task_ids, p_contractor_ids) AS r(t, c)
        JOIN open_tasks ot ON ot.task_id = r.t
            AND (ot.reserved_for IS NULL OR ot.reserved_for = r.c)
        ORDER BY 1) l;
    PERFORM 1 FROM contractors co WHERE co.contractor_id = ANY(p_contractor_ids)
        ORDER BY co.contractor_id FOR NO KEY UPDATE;
    PERFORM 1 FROM open_tasks ot WHERE ot.task_id IN (
            SELECT r.t FROM unnest(p_task_ids, p_contractor_ids) AS r(t, c)
            JOIN open_tasks o ON o.task_id = r.t
                AND (o.reserved_for IS NULL OR o.reserved_for = r.c))
        ORDER BY ot.task_id FOR NO KEY UPDATE;
    FOR i IN 1 .. coalesce(cardinality(p_claim_ids), 0) LOOP
        RETURN QUERY SELECT i, c.* FROM claim_task(
            p_claim_ids[i], p_task_ids[i], p_contractor_ids[i], p_request_ids[i], p_nows[i],
            p_project_ids[i], p_revisions[i], p_event_ids[i], p_topics[i], p_keys[i],
            p_envelopes[i], p_correlation_ids[i], p_lease_seconds[i], p_deadline_ats[i],
            p_max_deadline_ats[i]) c;
    END LOOP;
END;
$$;
