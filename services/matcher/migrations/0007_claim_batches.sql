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
-- The batch's locks are held until its commit. Within one transaction claim_task()'s
-- locks are re-entrant (two copies of one request in a batch: the second is EXISTING).
-- Two batches in flight at once, e.g. on two replicas, can wait on each other in a cycle
-- (claim 1 of one batch and claim 2 of the other on the same task, and the reverse):
-- PostgreSQL then aborts one with a deadlock error, and the matcher applies that batch's
-- claims again one statement each. Nothing is granted twice: an aborted batch changed
-- nothing.
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
    FOR i IN 1 .. coalesce(cardinality(p_claim_ids), 0) LOOP
        RETURN QUERY SELECT i, c.* FROM claim_task(
            p_claim_ids[i], p_task_ids[i], p_contractor_ids[i], p_request_ids[i], p_nows[i],
            p_project_ids[i], p_revisions[i], p_event_ids[i], p_topics[i], p_keys[i],
            p_envelopes[i], p_correlation_ids[i], p_lease_seconds[i], p_deadline_ats[i],
            p_max_deadline_ats[i]) c;
    END LOOP;
END;
$$;
