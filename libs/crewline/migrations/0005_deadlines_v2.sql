-- Deadlines v2 (see crewline.clock). A clock is pending, fired, or dead-lettered
-- (its handler failed max_attempts times; kept with its last error until re-armed
-- or cancelled). run_at is when the clock is next taken: due_at, or later while a
-- failed handler backs off. due_at stays the due time the handler is told about.
ALTER TABLE deadlines
    ADD COLUMN generation integer NOT NULL DEFAULT 1,  -- +1 each time a fired clock is re-armed
    ADD COLUMN attempts   integer NOT NULL DEFAULT 0,  -- failed handler runs in this generation
    ADD COLUMN run_at     timestamptz,
    ADD COLUMN last_error text,
    ADD COLUMN dead_at    timestamptz;
UPDATE deadlines SET run_at = due_at;
ALTER TABLE deadlines ALTER COLUMN run_at SET NOT NULL;

DROP INDEX deadlines_due;
CREATE INDEX deadlines_due ON deadlines (run_at) WHERE fired_at IS NULL AND dead_at IS NULL;
-- Pruning takes the oldest fired clocks; operators page through dead letters.
CREATE INDEX deadlines_fired ON deadlines (fired_at) WHERE fired_at IS NOT NULL;
CREATE INDEX deadlines_dead ON deadlines (dead_at, kind, ref) WHERE dead_at IS NOT NULL;
