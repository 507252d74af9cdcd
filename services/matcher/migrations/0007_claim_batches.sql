-- Group commit for ClaimTask (issue 6's speed goal). Concurrent ClaimTask calls are
-- gathered by the matcher while its previous batch is in PostgreSQL and sent together:
-- claim_tasks() runs claim_task() once per claim, in arrival order (first come, first
-- served inside the batch as between batches), in one statement and one transaction.
-- One round trip and one commit for the lot instead of one each.
--
-- Element i of every array is claim i's argument of claim_task(); a claim without an
-- expected revision passes NULL in each of p_project_ids .. p_max_deadline_ats, as the
-- single call does. Each claim's row comes back with its ordinal (ord, from 1).
--
-- The batch's locks are held until its commit, so two batches in flight at once (on two
-- replicas) could each hold a lock the other's next claim needs: claim 1 of one batch
-- and claim 2 of the other on the same task, and the reverse. Before deciding anything
-- the batch therefore takes the locks its claims will take, kind by kind in the order
-- claim_task() takes them (the requests' advisory locks, the projects' shared advisory
-- locks, the contractors' rows, the tasks' rows), each kind sorted. Two batches, or a
-- batch and a single claim_task(), then never wait on each other in a cycle; so that
-- reprioritising a project does not either, it locks the project's tasks in task order
-- too. (A task published after the batch took its project locks is locked later, by
-- claim_task(); shared project locks conflict only with a pause or close, which locks
-- no contractor or task.) One writer of several tasks remains: the matcher's consumer,
-- which applies a group of events (say TaskChanged for two tasks) in one transaction, in
-- the events' order. A cycle with a batch is possible there; PostgreSQL detects it
-- after deadlock_timeout (1 s) and aborts one: the batch's claims go again one by one
-- (crewline_matcher_claim_batch_splits_total), or the group is retried. Nothing is
-- granted twice: an aborted batch changed nothing. Within the transaction the locks are
-- re-entrant, so claim_task() takes them again for nothing; two copies of one request in
-- a batch: the second is EXISTING.
CREATE FUNCTION claim_tasks(
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
    PERFORM pg_advisory_xact_lock_shared(l.k) FROM (
        SELECT DISTINCT hashtextextended('project' || chr(31) || ot.project_id, 0) AS k
        FROM open_tasks ot WHERE ot.task_id = ANY(p_task_ids) ORDER BY 1) l;
    PERFORM 1 FROM contractors co WHERE co.contractor_id = ANY(p_contractor_ids)
        ORDER BY co.contractor_id FOR NO KEY UPDATE;
    PERFORM 1 FROM open_tasks ot WHERE ot.task_id = ANY(p_task_ids)
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
