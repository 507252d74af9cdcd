-- Exams (docs: the shared design). An unpaid exam's question is accepted work that is
-- owed nothing (SubmissionAccepted.unpaid): recorded with a zero reward and no posting
-- at all. Verify counts it neither among the work owed pay nor as unpaid, and counts
-- pay on it as pay on work owed none (with rejections not overridden).
ALTER TABLE submissions ADD COLUMN unpaid boolean NOT NULL DEFAULT false,
    ADD CHECK (NOT unpaid OR reward_minor = 0);
