-- The Watch trigger found its transaction's events by scanning every unnumbered
-- entry of a partial index. Numbering leaves a dead entry there per event until
-- VACUUM, so each commit walked all the events numbered since the last vacuum (the
-- lifecycle bench saw a one-event commit go from 0.8 to 4.3 ms after 198,000
-- events). Events now carry their transaction's id, and the trigger looks up
-- exactly its own: the cost no longer grows with the log.
ALTER TABLE watch_events ADD COLUMN xact xid8 NOT NULL DEFAULT pg_current_xact_id();
DROP INDEX watch_events_unnumbered;
CREATE INDEX watch_events_unnumbered ON watch_events (xact) WHERE seq IS NULL;

CREATE OR REPLACE FUNCTION watch_number() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    clients text[];
    upto    bigint;
    me      xid8 := pg_current_xact_id();
BEGIN
    -- One call numbers every event of the transaction; the calls for its other rows
    -- see theirs done (the transaction-local setting holds the last id numbered).
    IF NEW.id <= coalesce(nullif(current_setting('crewline.watch_upto', true), '')::bigint, 0)
    THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(DISTINCT client_id ORDER BY client_id), max(id) INTO clients, upto
    FROM watch_events WHERE seq IS NULL AND xact = me;
    IF clients IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO watch_heads (client_id, last_seq)
    SELECT c, 0 FROM unnest(clients) AS c
    ON CONFLICT (client_id) DO NOTHING;
    PERFORM 1 FROM watch_heads WHERE client_id = ANY (clients)
    ORDER BY client_id FOR UPDATE;
    WITH pending AS (
        SELECT client_id, count(*) AS n FROM watch_events
        WHERE seq IS NULL AND xact = me GROUP BY client_id
    ), heads AS (
        UPDATE watch_heads h SET last_seq = h.last_seq + p.n
        FROM pending p WHERE h.client_id = p.client_id
        RETURNING h.client_id, h.last_seq - p.n AS base
    ), numbered AS (
        SELECT e.id,
               h.base + row_number() OVER (PARTITION BY e.client_id ORDER BY e.id) AS seq
        FROM watch_events e JOIN heads h ON h.client_id = e.client_id
        WHERE e.seq IS NULL AND e.xact = me
    )
    UPDATE watch_events e SET seq = n.seq FROM numbered n WHERE e.id = n.id;
    PERFORM set_config('crewline.watch_upto', upto::text, true);
    PERFORM pg_notify('crewline_watch', c) FROM unnest(clients) AS c;
    RETURN NULL;
END
$$;
