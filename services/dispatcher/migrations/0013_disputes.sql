-- Disputes of gold keys from the quality service (docs: the shared design).
--
-- Each dispute's last state seen, as appeals are kept: a dispute is logged and acted on
-- once per state (open, then corrected or dismissed); a redelivery finds its state and
-- changes nothing.
CREATE TABLE disputes (
    dispute_id    text PRIMARY KEY,
    contractor_id text NOT NULL,
    project_id    text NOT NULL,
    state         text NOT NULL CHECK (state IN ('open', 'corrected', 'dismissed')),
    changed_at    timestamptz NOT NULL
);

-- A corrected gold key turns rejections (of anyone who answered the gold task) into
-- acceptances.
ALTER TABLE submissions DROP CONSTRAINT submissions_accepted_by_check,
    ADD CONSTRAINT submissions_accepted_by_check
        CHECK (accepted_by IN ('client', 'auto_accept', 'override', 'appeal', 'key_correction'));
