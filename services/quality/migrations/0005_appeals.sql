-- Appeals of a sanction or of a rejected submission (domain/appeals.py). appeal_id is
-- uuid5 of (contractor, idempotency key), so a key names one appeal for good; a subject
-- has at most one appeal, ever. No foreign key to sanctions or reviewed_submissions:
-- an appeal is kept whatever happens to what it names. seq orders pages.
CREATE TABLE appeals (
    appeal_id               uuid PRIMARY KEY,
    seq                     bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    contractor_id           text NOT NULL,
    idempotency_key         text NOT NULL,
    project_id              text NOT NULL,
    client_id               text NOT NULL,
    sanction_id             uuid,
    submission_id           text,
    text                    text NOT NULL,
    state                   text NOT NULL CHECK (state IN ('pending', 'upheld', 'denied')),
    filed_at                timestamptz NOT NULL,
    decide_by               timestamptz NOT NULL,
    decided_at              timestamptz,
    decided_by              text CHECK (decided_by IN ('client', 'operator', 'deadline')),
    decision_note           text NOT NULL DEFAULT '',
    accepted_submission_ids text[] NOT NULL DEFAULT '{}',
    UNIQUE (contractor_id, idempotency_key),
    CHECK ((sanction_id IS NULL) <> (submission_id IS NULL)),
    CHECK ((state = 'pending') = (decided_at IS NULL)),
    CHECK ((decided_at IS NULL) = (decided_by IS NULL))
);
CREATE UNIQUE INDEX appeals_one_per_sanction ON appeals (sanction_id)
    WHERE sanction_id IS NOT NULL;
CREATE UNIQUE INDEX appeals_one_per_submission ON appeals (submission_id)
    WHERE submission_id IS NOT NULL;
-- ListMyAppeals: a contractor's, newest first.
CREATE INDEX appeals_of_contractor ON appeals (contractor_id, seq);
-- ListAppeals: a project's (or every project's) queue, pending first.
CREATE INDEX appeals_of_project ON appeals (project_id, (state <> 'pending'), seq);
CREATE INDEX appeals_queue ON appeals ((state <> 'pending'), seq);
