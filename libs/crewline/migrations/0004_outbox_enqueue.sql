-- The outbox write as a function, for a service's own SQL function that changes
-- state and records its event in one statement (one round trip). The envelope is
-- built by the caller (crewline.outbox.prepare); this only stores it.
CREATE FUNCTION outbox_enqueue(
    p_event_id uuid, p_topic text, p_key bytea, p_envelope bytea, p_correlation_id text
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO outbox (event_id, topic, key, envelope, correlation_id)
    VALUES (p_event_id, p_topic, p_key, p_envelope, p_correlation_id)
$$;
