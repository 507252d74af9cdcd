-- Transactional outbox: rows written in the same transaction as the state change
-- that caused them; the relay publishes them in id order and marks them sent.
CREATE TABLE outbox (
    id             bigserial PRIMARY KEY,
    event_id       uuid NOT NULL UNIQUE,
    topic          text NOT NULL,
    key            bytea NOT NULL,
    envelope       bytea NOT NULL,
    correlation_id text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

-- Idempotent consumer: one row per event applied (or rejected) by a consumer,
-- written in the same transaction as the event's effect.
CREATE TABLE inbox (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    event_type   text NOT NULL,
    topic        text NOT NULL,
    partition    integer NOT NULL,
    "offset"     bigint NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('applied', 'ignored', 'rejected')),
    error        text,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Durable deadlines: a clock lives here, never only in memory. (kind, ref) is
-- one clock; scheduling it again moves it. fired_at is set in the transaction
-- that applies the deadline's effect, so a restart fires nothing twice.
CREATE TABLE deadlines (
    kind       text NOT NULL,
    ref        text NOT NULL,
    due_at     timestamptz NOT NULL,
    -- The request that set the clock: its effects log and publish under the same id.
    correlation_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    fired_at   timestamptz,
    PRIMARY KEY (kind, ref)
);
CREATE INDEX deadlines_due ON deadlines (due_at) WHERE fired_at IS NULL;
