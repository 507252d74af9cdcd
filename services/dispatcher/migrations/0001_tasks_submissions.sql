CREATE TABLE tasks (
    task_id         uuid PRIMARY KEY,
    client_id       text NOT NULL,
    request_id      text NOT NULL,
    fingerprint     text NOT NULL,
    project_id      text NOT NULL,
    status          text NOT NULL CHECK (status IN ('open', 'completed')),
    slots           integer NOT NULL CHECK (slots > 0),
    reward_currency text NOT NULL,
    reward_minor    bigint NOT NULL CHECK (reward_minor > 0),
    instructions    text NOT NULL,
    claimed_count   integer NOT NULL DEFAULT 0,
    submitted_count integer NOT NULL DEFAULT 0,
    accepted_count  integer NOT NULL DEFAULT 0 CHECK (accepted_count <= slots),
    created_at      timestamptz NOT NULL,
    -- Idempotent requests: one task per (client, request id), forever.
    UNIQUE (client_id, request_id)
);

CREATE TABLE submissions (
    submission_id   uuid PRIMARY KEY,  -- the matcher's claim id: one submission per claim
    task_id         uuid NOT NULL REFERENCES tasks (task_id),
    contractor_id   text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending_review', 'accepted')),
    reward_currency text NOT NULL,
    reward_minor    bigint NOT NULL CHECK (reward_minor > 0),
    result          bytea NOT NULL,
    submitted_at    timestamptz NOT NULL,
    accepted_at     timestamptz
);
CREATE INDEX submissions_by_task ON submissions (task_id);
