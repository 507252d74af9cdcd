-- Keys with text or rubric fields (docs/quality.md, "Keys and rules"): such a field is
-- judged by the client's review of the work, so a gold task whose key holds one needs
-- review, and so do its answers. The key may change (a correction); an answer keeps
-- whether it needed review when it was handed in.
ALTER TABLE gold_tasks ADD COLUMN needs_review boolean NOT NULL DEFAULT false;

-- A gold answer that needs review is pending until its submission is reviewed
-- (review_accepted NULL): it counts nowhere, neither in gold accuracy nor as a
-- sanction's evidence nor in ListGoldTasks's counts. Reviewed, correct is the key's
-- automatic fields right AND the review's acceptance (an override: accepted, final).
-- While pending, correct holds the automatic fields' verdict alone.
ALTER TABLE gold_answers ADD COLUMN needs_review boolean NOT NULL DEFAULT false,
    ADD COLUMN review_accepted boolean,
    ADD COLUMN pending boolean GENERATED ALWAYS AS
        (needs_review AND review_accepted IS NULL) STORED;
DROP INDEX gold_answers_window;
CREATE INDEX gold_answers_window ON gold_answers
    (contractor_id, project_id, submitted_at DESC, claim_id DESC) WHERE NOT voided AND NOT pending;

-- An exam's question that needs review: its answer is judged once its submission is
-- reviewed (review_accepted, which may come before the answer is heard of); right when
-- the automatic fields are (correct) and the review accepted it.
ALTER TABLE exam_questions ADD COLUMN needs_review boolean NOT NULL DEFAULT false,
    ADD COLUMN review_accepted boolean;
