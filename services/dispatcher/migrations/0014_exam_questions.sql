-- Exams (docs: the shared design). A gold task the quality service issues with an
-- exam_attempt_id is an exam's question: its work is accepted when handed in
-- (accepted_by 'exam'), and an unpaid exam's work earns nothing.
CREATE TABLE exam_questions (
    task_id    uuid PRIMARY KEY REFERENCES tasks (task_id),
    attempt_id text NOT NULL,
    unpaid     boolean NOT NULL
);

-- An unpaid exam's submission earns nothing: its reward is zero, and only its.
ALTER TABLE submissions ADD COLUMN unpaid boolean NOT NULL DEFAULT false,
    DROP CONSTRAINT submissions_reward_minor_check,
    ADD CONSTRAINT submissions_reward_minor_check
        CHECK (CASE WHEN unpaid THEN reward_minor = 0 ELSE reward_minor > 0 END);

ALTER TABLE submissions DROP CONSTRAINT submissions_accepted_by_check,
    ADD CONSTRAINT submissions_accepted_by_check
        CHECK (accepted_by IN
            ('client', 'auto_accept', 'override', 'appeal', 'key_correction', 'exam'));
