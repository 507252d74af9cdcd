-- Projects hold the terms (instructions, requirements, pay) their tasks share; tasks
-- carry the work itself. Safe on databases that already hold tasks from before
-- projects: their project ids name no project, and they keep them.

CREATE TABLE projects (
    -- A UUID, as text: tasks.project_id is text, and older tasks hold other ids.
    project_id                text PRIMARY KEY,
    client_id                 text NOT NULL,
    -- Idempotent CreateProject: one project per (client, request id), forever.
    request_id                text NOT NULL,
    fingerprint               text NOT NULL,
    title                     text NOT NULL,
    instructions              text NOT NULL,
    requirements              jsonb NOT NULL,  -- [{"q": name, "c": comparator, "v": [values]}]
    assignments_per_task      integer NOT NULL CHECK (assignments_per_task BETWEEN 1 AND 1000),
    claim_timeout_seconds     bigint NOT NULL CHECK (claim_timeout_seconds > 0),
    task_lifetime_seconds     bigint NOT NULL CHECK (task_lifetime_seconds > 0),
    auto_accept_delay_seconds bigint NOT NULL CHECK (auto_accept_delay_seconds > 0),
    priority                  integer NOT NULL CHECK (priority BETWEEN 0 AND 100),
    max_claims_per_contractor integer NOT NULL CHECK (max_claims_per_contractor >= 0),
    terms_version             integer NOT NULL,  -- the current row of project_pay_terms
    revision                  bigint NOT NULL,
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL,
    UNIQUE (client_id, request_id)
);
-- ListProjects: a client's projects, newest first.
CREATE INDEX projects_of_client_newest_first
    ON projects (client_id, created_at DESC, project_id DESC);

-- Every version of every project's pay terms; claims keep the version they were granted.
CREATE TABLE project_pay_terms (
    project_id       text NOT NULL REFERENCES projects (project_id),
    version          integer NOT NULL CHECK (version > 0),
    basis            text NOT NULL CHECK (basis IN ('per_submission', 'hourly')),
    rate_currency    text NOT NULL,
    rate_minor       bigint NOT NULL CHECK (rate_minor > 0),
    max_paid_seconds integer NOT NULL DEFAULT 0,  -- hourly only
    effective_at     timestamptz NOT NULL,
    PRIMARY KEY (project_id, version)
);

-- A copy of the matcher's qualification types (QualificationTypeDefined), so a
-- project's requirements are checked without a call to the matcher.
CREATE TABLE qualification_types (
    name text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('score', 'presence', 'string'))
);

-- Tasks: a client-chosen idempotency key per task (the old request id: same meaning,
-- one per task), the work itself, its priority and expiry. Reward and instructions
-- are the project's now; submissions keep the reward they earn.
ALTER TABLE tasks RENAME COLUMN request_id TO idempotency_key;
ALTER TABLE tasks RENAME CONSTRAINT tasks_client_id_request_id_key
    TO tasks_client_id_idempotency_key_key;
ALTER TABLE tasks
    DROP COLUMN reward_currency,
    DROP COLUMN reward_minor,
    DROP COLUMN instructions,
    ADD COLUMN payload_json  text,
    ADD COLUMN payload_bytes bytea,
    ADD COLUMN priority      integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 100),
    ADD COLUMN own_priority  boolean NOT NULL DEFAULT false,  -- else the project's, when made
    ADD COLUMN expires_at    timestamptz,
    ADD COLUMN updated_at    timestamptz,
    -- At most one: tasks from before projects have none.
    ADD CONSTRAINT tasks_one_payload CHECK (payload_json IS NULL OR payload_bytes IS NULL);
-- Older tasks: changed when created, and they expire after the default lifetime.
UPDATE tasks SET updated_at = created_at, expires_at = created_at + interval '7 days';
ALTER TABLE tasks
    ALTER COLUMN updated_at SET NOT NULL,
    ALTER COLUMN expires_at SET NOT NULL,
    ALTER COLUMN priority DROP DEFAULT;

-- ListTasks: a client's tasks (or a project's) by (updated_at, task_id).
CREATE INDEX tasks_of_client_by_update ON tasks (client_id, updated_at, task_id);
CREATE INDEX tasks_of_project_by_update ON tasks (project_id, updated_at, task_id);
