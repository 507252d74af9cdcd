-- Events a consumer could not apply for a permanent reason (see crewline.consumer):
-- the whole record, kept with its error until an operator replays it. A dead-lettered
-- event has no inbox row, so replaying it goes through the inbox like any delivery.
-- Open: applied_at IS NULL (and no inbox row, should a redelivery have applied it).
CREATE TABLE dead_letters (
    event_id       uuid PRIMARY KEY,  -- the envelope's; for a record with none, derived from
                                      -- (consumer, topic, partition, offset)
    consumer       text NOT NULL,     -- the consumer group whose handler failed it
    topic          text NOT NULL,     -- without the deployment's namespace prefix
    partition      integer NOT NULL,
    "offset"       bigint NOT NULL,
    key            bytea,
    value          bytea NOT NULL,    -- the record's value as delivered (empty for none)
    event_type     text NOT NULL,     -- '' when the envelope did not parse
    correlation_id text NOT NULL,
    error          text NOT NULL,     -- the first failure's, then the last replay's
    dead_at        timestamptz NOT NULL DEFAULT now(),
    replays        integer NOT NULL DEFAULT 0,
    replayed_at    timestamptz,
    applied_at     timestamptz
);
-- Operators page through the open ones, oldest first.
CREATE INDEX dead_letters_open ON dead_letters (dead_at, event_id) WHERE applied_at IS NULL;
