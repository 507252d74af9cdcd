-- Projects as the dispatcher announces them (ProjectChanged, the highest revision
-- kept): whose they are, whether they take work, their tasks' lifetime and their
-- current answer spec, which a gold key must fit. The spec is crewline.answers.to_json
-- as json, not jsonb: jsonb keeps numbers as numeric, and a scale bound such as 1e23
-- would read back as an integer, not the float sent. NULL: no spec (or removed).
CREATE TABLE projects (
    project_id            text PRIMARY KEY,
    client_id             text NOT NULL,
    revision              bigint NOT NULL,
    state                 text NOT NULL CHECK (state IN ('active', 'paused', 'closed')),
    task_lifetime_seconds bigint NOT NULL CHECK (task_lifetime_seconds >= 0),
    answer_spec_version   integer NOT NULL DEFAULT 0 CHECK (answer_spec_version >= 0),
    answer_spec           json
);

-- A project's quality settings, as its client set them; NULL: the default.
CREATE TABLE quality_policies (
    project_id         text PRIMARY KEY,
    gold_share_percent integer CHECK (gold_share_percent BETWEEN 0 AND 50),
    updated_at         timestamptz NOT NULL
);

-- Gold tasks: a payload shown as any task's, and its key, which never leaves this
-- service except to its client. answer_json is the key as the client sent it; key is
-- how each field scores (domain/gold_keys.py), json for the same reason as specs.
CREATE TABLE gold_tasks (
    gold_id           uuid PRIMARY KEY,
    seq               bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    project_id        text NOT NULL,
    client_id         text NOT NULL,
    idempotency_key   text NOT NULL,
    fingerprint       text NOT NULL,
    payload_json      text,
    payload_bytes     bytea,
    answer_json       text NOT NULL,
    rules             json NOT NULL,
    key               json NOT NULL,
    spec_version      integer NOT NULL,
    created_at        timestamptz NOT NULL,
    UNIQUE (project_id, idempotency_key),
    CHECK ((payload_json IS NULL) <> (payload_bytes IS NULL))
);
CREATE INDEX gold_tasks_by_project ON gold_tasks (project_id, seq);

-- A gold task issued to one contractor, as the task (task_id) the dispatcher publishes
-- for them alone. Met once claimed (claim_id set); open while claimed and not ended, or
-- unclaimed until lapses_at.
CREATE TABLE gold_instances (
    task_id       text PRIMARY KEY,
    gold_id       uuid NOT NULL REFERENCES gold_tasks,
    project_id    text NOT NULL,
    client_id     text NOT NULL,
    contractor_id text NOT NULL,
    issued_at     timestamptz NOT NULL,
    lapses_at     timestamptz NOT NULL,
    claim_id      text,
    ended_at      timestamptz
);
-- A contractor's gold in a project: any open, and which they have met.
CREATE INDEX gold_instances_by_contractor ON gold_instances (contractor_id, project_id, gold_id);

-- The ordinary claims that made a draw (ClaimGranted), so that a copy of the event
-- under another event id draws nothing more. Pruned with the inbox's retention.
CREATE TABLE gold_draws (
    claim_id text PRIMARY KEY,
    drawn_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gold_draws_by_time ON gold_draws (drawn_at);

-- Each scored answer to a gold task: whether it was right, never the result itself.
-- The claim is the submission: one answer per claim.
CREATE TABLE gold_answers (
    claim_id      text PRIMARY KEY,
    task_id       text NOT NULL REFERENCES gold_instances,
    gold_id       uuid NOT NULL REFERENCES gold_tasks,
    contractor_id text NOT NULL,
    project_id    text NOT NULL,
    correct       boolean NOT NULL,
    submitted_at  timestamptz NOT NULL
);
-- A window: one contractor's latest gold answers in one project.
CREATE INDEX gold_answers_window
    ON gold_answers (contractor_id, project_id, submitted_at DESC, claim_id DESC);
CREATE INDEX gold_answers_by_gold ON gold_answers (gold_id);

ALTER TABLE scores DROP CONSTRAINT scores_measure_check;
ALTER TABLE scores ADD CONSTRAINT scores_measure_check
    CHECK (measure IN ('acceptance_rate', 'gold_accuracy'));
