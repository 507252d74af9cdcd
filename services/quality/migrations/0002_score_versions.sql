-- A score's version: 1 for its first value, +1 each time the value changes (not when
-- only its counts move). ScoreChanged carries it, so the matcher keeps the newest
-- whatever order the events arrive in; two replicas' clocks could not promise that.
ALTER TABLE scores ADD COLUMN version bigint NOT NULL DEFAULT 1 CHECK (version >= 1);
