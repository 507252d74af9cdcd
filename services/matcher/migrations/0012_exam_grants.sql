-- Exams (docs: Quality control, Exams). A SCORE qualification type may name the client
-- that may attach an exam granting it (NULL: only operators may); the quality service
-- learns it from QualificationTypeDefined.
ALTER TABLE qualification_types ADD COLUMN client_id text;

-- Each passed exam attempt this matcher has granted, from the quality service's
-- ExamAttemptChanged (PASSED): a redelivery finds its attempt here and grants nothing,
-- even after an operator changed or revoked the qualification since.
CREATE TABLE exam_grants (
    attempt_id    text PRIMARY KEY,
    contractor_id text NOT NULL REFERENCES contractors (contractor_id),
    qualification text NOT NULL REFERENCES qualification_types (name),
    score         integer NOT NULL CHECK (score BETWEEN 0 AND 100),
    granted_at    timestamptz NOT NULL
);
