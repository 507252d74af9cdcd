-- The pool: every published task and how many of its slots are free.
CREATE TABLE open_tasks (
    task_id         uuid PRIMARY KEY,
    client_id       text NOT NULL,
    project_id      text NOT NULL,
    slots           integer NOT NULL CHECK (slots > 0),
    free_slots      integer NOT NULL CHECK (free_slots >= 0 AND free_slots <= slots),
    reward_currency text NOT NULL,
    reward_minor    bigint NOT NULL CHECK (reward_minor > 0),
    instructions    text NOT NULL,
    published_at    timestamptz NOT NULL
);
CREATE INDEX open_tasks_with_free_slots ON open_tasks (published_at, task_id)
    WHERE free_slots > 0;
CREATE INDEX open_tasks_of_project_with_free_slots ON open_tasks (project_id, published_at, task_id)
    WHERE free_slots > 0;

-- Claims: the matcher is the one writer of a claim's state.
CREATE TABLE claims (
    claim_id        uuid PRIMARY KEY,
    task_id         uuid NOT NULL REFERENCES open_tasks (task_id),
    contractor_id   text NOT NULL,
    request_id      text NOT NULL,
    status          text NOT NULL CHECK (status IN ('active', 'submitted')),
    reward_currency text NOT NULL,
    reward_minor    bigint NOT NULL CHECK (reward_minor > 0),
    version         integer NOT NULL DEFAULT 1,
    result          bytea,
    granted_at      timestamptz NOT NULL,
    submitted_at    timestamptz,
    UNIQUE (contractor_id, request_id),  -- idempotent ClaimTask, forever
    UNIQUE (task_id, contractor_id)      -- slots are for different contractors
);
