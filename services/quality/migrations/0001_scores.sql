-- Every reviewed submission, one row each, merged from SubmissionAccepted and
-- SubmissionRejected in whatever order they arrive: accepted is final (an override
-- turns a rejection into an acceptance), and reviewed_at is the first review's time,
-- the submission's place in its contractor's window.
CREATE TABLE reviewed_submissions (
    submission_id text PRIMARY KEY,
    task_id       text NOT NULL,
    contractor_id text NOT NULL,
    client_id     text NOT NULL,
    project_id    text NOT NULL,
    accepted      boolean NOT NULL,
    overridden    boolean NOT NULL DEFAULT false,
    reviewed_at   timestamptz NOT NULL
);
-- A window: one contractor's latest reviews in one project.
CREATE INDEX reviewed_submissions_window
    ON reviewed_submissions (contractor_id, project_id, reviewed_at DESC, submission_id DESC);

-- One row per contractor, project and measure, moved in the transaction that applies
-- the review that changed it. client_id is the project's client: a client reads only
-- the scores earned in its own projects.
CREATE TABLE scores (
    contractor_id text NOT NULL,
    project_id    text NOT NULL,
    measure       text NOT NULL CHECK (measure IN ('acceptance_rate')),
    client_id     text NOT NULL,
    accepted      integer NOT NULL CHECK (accepted >= 0),
    reviewed      integer NOT NULL CHECK (reviewed >= accepted),
    window_size   integer NOT NULL CHECK (window_size >= reviewed),
    value         integer NOT NULL CHECK (value BETWEEN 0 AND 100),
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (contractor_id, project_id, measure)
);
CREATE INDEX scores_by_client ON scores (client_id, contractor_id, project_id);
