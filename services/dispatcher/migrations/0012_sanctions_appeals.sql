-- Sanctions and appeals from the quality service (docs: the shared design).
--
-- Every sanction the dispatcher has heard of, at its highest version: a redelivered or
-- older SanctionChanged is recognised (and changes nothing, the Watch log included).
-- Only review-everything sanctions act here: while one is active and not past ends_at,
-- the contractor's new work in the project gets no auto-accept clock.
CREATE TABLE sanctions (
    sanction_id   text PRIMARY KEY,
    contractor_id text NOT NULL,
    project_id    text NOT NULL,
    action        text NOT NULL CHECK (action IN ('suspend', 'review_all', 'notify', 'other')),
    state         text NOT NULL CHECK (state IN ('active', 'ended', 'lifted')),
    ends_at       timestamptz,
    version       bigint NOT NULL CHECK (version > 0),
    changed_at    timestamptz NOT NULL
);
-- Read by every WorkSubmitted: a contractor's active review-everything sanctions.
CREATE INDEX sanctions_reviewing_all ON sanctions (contractor_id, project_id)
    WHERE action = 'review_all' AND state = 'active';

-- Each appeal's last state seen: an appeal is logged and acted on once per state
-- (pending, then upheld or denied); a redelivery finds its state and changes nothing.
CREATE TABLE appeals (
    appeal_id     text PRIMARY KEY,
    contractor_id text NOT NULL,
    project_id    text NOT NULL,
    state         text NOT NULL CHECK (state IN ('pending', 'upheld', 'denied')),
    changed_at    timestamptz NOT NULL
);

-- An upheld appeal turns a rejection into an acceptance.
ALTER TABLE submissions DROP CONSTRAINT submissions_accepted_by_check,
    ADD CONSTRAINT submissions_accepted_by_check
        CHECK (accepted_by IN ('client', 'auto_accept', 'override', 'appeal'));

-- Sanctions and appeals are about a contractor in a project, not a task: their Watch
-- events have none (the project filter reads project_id, which they have).
ALTER TABLE watch_events ALTER COLUMN task_id DROP NOT NULL;
