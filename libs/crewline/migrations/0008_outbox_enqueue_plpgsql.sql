-- outbox_enqueue() in PL/pgSQL: its INSERT's plan is then prepared once per session and
-- reused. As a SQL function it was planned again on every call from claim_task().
-- pgbench running claim_task() on a copy of the matcher's database, alternating:
-- 2,155 and 2,167 tps against 1,992 and 2,078 (0.97 against 0.99-1.03 ms of CPU each).
CREATE OR REPLACE FUNCTION outbox_enqueue(
    p_event_id uuid, p_topic text, p_key bytea, p_envelope bytea, p_correlation_id text
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (event_id, topic, key, envelope, correlation_id)
    VALUES (p_event_id, p_topic, p_key, p_envelope, p_correlation_id);
END;
$$;
