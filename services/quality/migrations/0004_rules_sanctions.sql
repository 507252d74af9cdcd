-- Rules and sanctions (docs/quality.md, "Rules and sanctions").

-- What evidence shows: the contractor's answer to gold as they sent it (NULL for an
-- answer scored before it was kept), and the client's note on a review. An upheld
-- appeal voids gold answers: a voided one no longer counts in gold accuracy.
ALTER TABLE gold_answers ADD COLUMN answer_json text;
ALTER TABLE gold_answers ADD COLUMN voided boolean NOT NULL DEFAULT false;
DROP INDEX gold_answers_window;
CREATE INDEX gold_answers_window ON gold_answers
    (contractor_id, project_id, submitted_at DESC, claim_id DESC) WHERE NOT voided;
ALTER TABLE reviewed_submissions ADD COLUMN feedback text;

-- Gold shown to a contractor as evidence is retired: never issued again, to anyone.
ALTER TABLE gold_tasks ADD COLUMN retired_at timestamptz;

-- A project's rules, in the order its client listed them.
CREATE TABLE quality_rules (
    project_id       text NOT NULL,
    position         integer NOT NULL CHECK (position >= 0),
    rule_id          text NOT NULL,
    measure          text NOT NULL
        CHECK (measure IN ('gold_accuracy', 'acceptance_rate', 'time_flag_share')),
    below            integer CHECK (below BETWEEN 0 AND 100),
    above            integer CHECK (above BETWEEN 0 AND 100),
    min_sample       integer NOT NULL CHECK (min_sample BETWEEN 1 AND 1000),
    action           text NOT NULL CHECK (action IN ('suspend', 'review_all', 'notify')),
    duration_seconds bigint CHECK (duration_seconds > 0),  -- NULL for notify
    PRIMARY KEY (project_id, rule_id),
    UNIQUE (project_id, position),
    CHECK ((below IS NULL) <> (above IS NULL)),
    CHECK ((action = 'notify') = (duration_seconds IS NULL))
);

-- Every submission (WorkSubmitted) and whether it was time-flagged (SubmissionFlagged),
-- merged in either order: the time-flag share counts a contractor's latest ones. Until
-- WorkSubmitted arrives, submitted_at is the flag's time (flags are set as work is
-- stored).
CREATE TABLE submissions (
    submission_id text PRIMARY KEY,
    task_id       text NOT NULL,
    contractor_id text NOT NULL,
    project_id    text NOT NULL,
    client_id     text NOT NULL,
    submitted_at  timestamptz NOT NULL,
    seen          boolean NOT NULL,  -- WorkSubmitted arrived: submitted_at is its own
    flagged       boolean NOT NULL
);
CREATE INDEX submissions_window
    ON submissions (contractor_id, project_id, submitted_at DESC, submission_id DESC);

-- What a rule did to one contractor in one project. rule is the rule as it was when it
-- acted; (newest_at, newest_id) the newest item its sample held, so that a sanction
-- that ended does not fire again on the same data.
CREATE TABLE sanctions (
    sanction_id    uuid PRIMARY KEY,
    contractor_id  text NOT NULL,
    project_id     text NOT NULL,
    client_id      text NOT NULL,
    rule_id        text NOT NULL,
    rule           json NOT NULL,
    action         text NOT NULL CHECK (action IN ('suspend', 'review_all', 'notify')),
    measured_value integer NOT NULL CHECK (measured_value BETWEEN 0 AND 100),
    sample         integer NOT NULL CHECK (sample >= 0),
    state          text NOT NULL CHECK (state IN ('active', 'ended', 'lifted')),
    imposed_at     timestamptz NOT NULL,
    ends_at        timestamptz,
    ended_at       timestamptz,
    version        bigint NOT NULL CHECK (version >= 1),
    newest_at      timestamptz NOT NULL,
    newest_id      text NOT NULL,
    CHECK ((state = 'active') = (ended_at IS NULL))
);
-- At most one sanction of a rule in force per contractor and project.
CREATE UNIQUE INDEX sanctions_one_active
    ON sanctions (contractor_id, project_id, rule_id) WHERE state = 'active';
CREATE INDEX sanctions_by_rule
    ON sanctions (contractor_id, project_id, rule_id, newest_at DESC, newest_id DESC);
CREATE INDEX sanctions_by_contractor ON sanctions (contractor_id, imposed_at DESC, sanction_id DESC);
CREATE INDEX sanctions_by_project ON sanctions (project_id, imposed_at DESC, sanction_id DESC);
CREATE INDEX sanctions_by_time ON sanctions (imposed_at DESC, sanction_id DESC);

-- The items a sanction rests on, newest first (position 0), as they were when it was
-- imposed. Shown only to the contractor, the project's client and operators.
CREATE TABLE sanction_evidence (
    sanction_id   uuid NOT NULL REFERENCES sanctions,
    position      integer NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('gold', 'review', 'flag')),
    task_id       text NOT NULL,
    submission_id text NOT NULL,
    submitted_at  timestamptz NOT NULL,
    gold_id       uuid REFERENCES gold_tasks,
    correct       boolean,
    accepted      boolean,
    flagged       boolean,
    answer_json   text,
    expected_json text,
    feedback      text,
    PRIMARY KEY (sanction_id, position)
);
CREATE INDEX sanction_evidence_by_gold ON sanction_evidence (gold_id) WHERE gold_id IS NOT NULL;
