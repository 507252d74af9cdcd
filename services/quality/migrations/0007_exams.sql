-- Qualification types as the matcher announces them (QualificationTypeDefined on the
-- contractors topic): an exam attaches only to a SCORE type, and a client only to one
-- whose client_id names it ('' : none, operators only).
CREATE TABLE qualification_types (
    name      text PRIMARY KEY,
    kind      text NOT NULL CHECK (kind IN ('score', 'presence', 'string')),
    client_id text NOT NULL DEFAULT ''
);

-- The exam of a qualification type (domain/exams.py); SetExam replaces it. A project
-- with an exam is issued no hidden gold: its gold is the exam's.
CREATE TABLE exams (
    qualification           text PRIMARY KEY,
    project_id              text NOT NULL,
    client_id               text NOT NULL,
    question_count          integer NOT NULL CHECK (question_count BETWEEN 1 AND 100),
    pass_mark               integer NOT NULL CHECK (pass_mark BETWEEN 0 AND 100),
    retake_cooldown_seconds bigint NOT NULL CHECK (retake_cooldown_seconds >= 0),
    paid                    boolean NOT NULL,
    time_limit_seconds      bigint NOT NULL CHECK (time_limit_seconds > 0),
    updated_at              timestamptz NOT NULL
);
CREATE INDEX exams_of_project ON exams (project_id);

-- One contractor's attempt, with the terms of the exam it started under. A contractor
-- has at most one attempt in progress at an exam. seq orders pages.
CREATE TABLE exam_attempts (
    attempt_id              uuid PRIMARY KEY,
    seq                     bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    contractor_id           text NOT NULL,
    qualification           text NOT NULL,
    project_id              text NOT NULL,
    client_id               text NOT NULL,
    state                   text NOT NULL CHECK (state IN ('in_progress', 'passed', 'failed')),
    pass_mark               integer NOT NULL,
    paid                    boolean NOT NULL,
    retake_cooldown_seconds bigint NOT NULL,
    started_at              timestamptz NOT NULL,
    ends_by                 timestamptz NOT NULL,
    score                   integer CHECK (score BETWEEN 0 AND 100),
    finished_at             timestamptz,
    retake_after            timestamptz,
    CHECK ((state = 'in_progress') = (finished_at IS NULL)),
    CHECK ((finished_at IS NULL) = (score IS NULL))
);
CREATE UNIQUE INDEX exam_attempts_one_in_progress ON exam_attempts (contractor_id, qualification)
    WHERE state = 'in_progress';
CREATE INDEX exam_attempts_of_contractor ON exam_attempts (contractor_id, qualification, seq);
CREATE INDEX exam_attempts_of_exam ON exam_attempts (qualification, seq);

-- An attempt's questions: each a gold task asked as a task reserved for the contractor.
-- Kept apart from gold_instances and gold_answers, so an exam answer never counts in
-- gold accuracy, a sanction's evidence or a gold task's counts. Only whether an answer
-- was right is kept (NULL: unanswered), never the answer.
CREATE TABLE exam_questions (
    task_id     text PRIMARY KEY,
    attempt_id  uuid NOT NULL REFERENCES exam_attempts,
    position    integer NOT NULL,
    gold_id     uuid NOT NULL REFERENCES gold_tasks,
    claim_id    text,
    correct     boolean,
    answered_at timestamptz,
    UNIQUE (attempt_id, position),
    CHECK ((correct IS NULL) = (answered_at IS NULL))
);
