-- Disputes of gold keys (domain/disputes.py). dispute_id is uuid5 of (contractor,
-- idempotency key), so a key names one dispute for good. task_id is the gold instance
-- the contractor met, gold_id the gold task it is (shown only to the client and
-- operators). A contractor has at most one open dispute of a gold task; one resolved
-- may be followed by another. correction_* is the key a correction set, so the same
-- correction sent again is known as such.
CREATE TABLE disputes (
    dispute_id              uuid PRIMARY KEY,
    seq                     bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    contractor_id           text NOT NULL,
    idempotency_key         text NOT NULL,
    project_id              text NOT NULL,
    client_id               text NOT NULL,
    task_id                 text NOT NULL,
    gold_id                 uuid NOT NULL REFERENCES gold_tasks,
    note                    text NOT NULL,
    state                   text NOT NULL CHECK (state IN ('open', 'corrected', 'dismissed')),
    filed_at                timestamptz NOT NULL,
    resolved_at             timestamptz,
    resolution_note         text NOT NULL DEFAULT '',
    accepted_submission_ids text[] NOT NULL DEFAULT '{}',
    overturned_sanction_ids text[] NOT NULL DEFAULT '{}',
    correction_answer_json  text,
    correction_rules        json,
    UNIQUE (contractor_id, idempotency_key),
    CHECK ((state = 'open') = (resolved_at IS NULL)),
    CHECK ((state = 'corrected') = (correction_answer_json IS NOT NULL))
);
CREATE UNIQUE INDEX disputes_one_open ON disputes (contractor_id, gold_id) WHERE state = 'open';
-- A correction resolves every open dispute of its gold task.
CREATE INDEX disputes_open_of_gold ON disputes (gold_id) WHERE state = 'open';
-- ListMyDisputes: a contractor's, newest first.
CREATE INDEX disputes_of_contractor ON disputes (contractor_id, seq);
-- ListDisputes: a project's (or every project's) queue, open first.
CREATE INDEX disputes_of_project ON disputes (project_id, (state <> 'open'), seq);
CREATE INDEX disputes_queue ON disputes ((state <> 'open'), seq);

-- The keys a correction replaced, for history: gold_tasks holds the current key
-- (version key_version), this table each earlier one, with the dispute that replaced it.
ALTER TABLE gold_tasks ADD COLUMN key_version integer NOT NULL DEFAULT 1;
CREATE TABLE gold_key_versions (
    gold_id      uuid NOT NULL REFERENCES gold_tasks,
    version      integer NOT NULL,
    answer_json  text NOT NULL,
    rules        json NOT NULL,
    key          json NOT NULL,
    spec_version integer NOT NULL,
    replaced_at  timestamptz NOT NULL,
    dispute_id   uuid NOT NULL REFERENCES disputes,
    PRIMARY KEY (gold_id, version)
);
