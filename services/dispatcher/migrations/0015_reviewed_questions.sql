-- Gold tasks and exams' questions whose key holds text or rubric fields
-- (GoldIssued.needs_review): a person judges those, through the client's review, so
-- their work waits for it. No auto-accept clock is armed for it (it would pass the work
-- unjudged), and an exam's question is not accepted when handed in.
CREATE TABLE tasks_needing_review (
    task_id uuid PRIMARY KEY REFERENCES tasks (task_id)
);
