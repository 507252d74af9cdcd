-- Review and pay (issue 8): submissions accepted or rejected by their client (a
-- rejection can be overridden within its revert window), what accepted work is paid
-- on (terms, time worked), bonuses idempotent forever, and rejected work counted on
-- its task.

ALTER TABLE submissions DROP CONSTRAINT submissions_status_check;
ALTER TABLE submissions
    ADD CONSTRAINT submissions_status_check
        CHECK (status IN ('pending_review', 'accepted', 'rejected')),
    -- Copied from the task, so that a client's submissions are listed without a join.
    ADD COLUMN client_id              text,
    ADD COLUMN project_id             text,
    -- What the work is paid on: the claim's frozen terms (NULL for work from before
    -- projects) and the time worked that hourly pay counts.
    ADD COLUMN worked_seconds         bigint NOT NULL DEFAULT 0 CHECK (worked_seconds >= 0),
    ADD COLUMN granted_at             timestamptz,
    ADD COLUMN terms_basis            text CHECK (terms_basis IN ('per_submission', 'hourly')),
    ADD COLUMN terms_rate_currency    text,
    ADD COLUMN terms_rate_minor       bigint,
    ADD COLUMN terms_max_paid_seconds integer,
    ADD COLUMN terms_version          integer,
    ADD COLUMN terms_effective_at     timestamptz,
    -- The review.
    ADD COLUMN auto_accept_at         timestamptz,
    ADD COLUMN reviewed_at            timestamptz,
    ADD COLUMN accepted_by            text
        CHECK (accepted_by IN ('client', 'auto_accept', 'override')),
    ADD COLUMN feedback               text NOT NULL DEFAULT '',
    ADD COLUMN rejected_at            timestamptz,
    ADD COLUMN revert_until           timestamptz;

-- Work from before reviews: its task's client and project; accepted work was
-- auto-accepted (the only way there was).
UPDATE submissions s SET client_id = t.client_id, project_id = t.project_id
FROM tasks t WHERE t.task_id = s.task_id;
UPDATE submissions SET accepted_by = 'auto_accept', reviewed_at = accepted_at
WHERE status = 'accepted';

ALTER TABLE submissions
    ALTER COLUMN client_id SET NOT NULL,
    ALTER COLUMN project_id SET NOT NULL,
    ADD CONSTRAINT submissions_accepted CHECK (
        (status = 'accepted') = (accepted_at IS NOT NULL AND accepted_by IS NOT NULL)),
    ADD CONSTRAINT submissions_rejected CHECK (
        status <> 'rejected' OR (rejected_at IS NOT NULL AND revert_until IS NOT NULL));

-- ListSubmissions: a task's or a project's (by state or not), oldest first.
DROP INDEX submissions_by_task;
CREATE INDEX submissions_of_task ON submissions (task_id, submitted_at, submission_id);
CREATE INDEX submissions_of_project ON submissions (project_id, submitted_at, submission_id);
CREATE INDEX submissions_of_project_by_status
    ON submissions (project_id, status, submitted_at, submission_id);

-- Rejected work keeps its slot: a task completes when every slot's work is reviewed.
ALTER TABLE tasks
    ADD COLUMN rejected_count integer NOT NULL DEFAULT 0 CHECK (rejected_count >= 0),
    ADD CONSTRAINT tasks_reviewed_within_slots CHECK (accepted_count + rejected_count <= slots);

-- Bonuses: bonus_id is uuid5 of (client, idempotency key), so a key names one bonus
-- forever and a second insert of it is impossible.
CREATE TABLE bonuses (
    bonus_id        uuid PRIMARY KEY,
    client_id       text NOT NULL,
    idempotency_key text NOT NULL,
    submission_id   uuid NOT NULL REFERENCES submissions (submission_id),
    amount_currency text NOT NULL,
    amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
    reason          text NOT NULL,
    granted_at      timestamptz NOT NULL,
    UNIQUE (client_id, idempotency_key)
);
CREATE INDEX bonuses_of_submission ON bonuses (submission_id, granted_at, bonus_id);
