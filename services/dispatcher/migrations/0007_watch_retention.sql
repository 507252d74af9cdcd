-- Watch log retention (dispatcher.adapters.watch_log.PRUNE): events are deleted once
-- past their retention, and each client's horizon, the highest number deleted, is
-- kept in watch_pruned. A Watch cursor below its client's horizon is refused (the
-- client resyncs) instead of silently skipping the deleted events.
ALTER TABLE watch_events ADD COLUMN logged_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX watch_events_logged ON watch_events (logged_at) WHERE seq IS NOT NULL;

CREATE TABLE watch_pruned (
    client_id   text PRIMARY KEY,
    through_seq bigint NOT NULL  -- every event numbered up to here may be gone
);
