-- Time flags (docs/quality.md): work whose time is far below its project's usual time,
-- or hourly time tracked twice, is stored with its flags and waits for its client's
-- review (no auto-accept). Each flag is {"kind", "evidence", and its numbers}.

ALTER TABLE submissions ADD COLUMN flags jsonb NOT NULL DEFAULT '[]';

-- The project's usual time: its last timed submissions, newest first, from the index
-- alone.
CREATE INDEX submissions_timed_of_project
    ON submissions (project_id, submitted_at DESC, submission_id DESC)
    INCLUDE (worked_seconds) WHERE worked_seconds > 0;

-- ListSubmissions(flagged_only) of a project.
CREATE INDEX submissions_flagged_of_project
    ON submissions (project_id, submitted_at, submission_id) WHERE flags <> '[]';

-- Hourly work's tracked segments, to find time a contractor tracked on two claims at
-- once: a contractor's claims that ended after a time are found from the index.
CREATE TABLE tracked_time (
    submission_id    uuid PRIMARY KEY REFERENCES submissions (submission_id),
    contractor_id    text NOT NULL,
    first_started_at timestamptz NOT NULL,
    last_ended_at    timestamptz NOT NULL,
    started_at       timestamptz[] NOT NULL,
    ended_at         timestamptz[] NOT NULL,
    CHECK (cardinality(started_at) = cardinality(ended_at) AND cardinality(started_at) > 0),
    CHECK (first_started_at < last_ended_at)
);
CREATE INDEX tracked_time_of_contractor ON tracked_time (contractor_id, last_ended_at);
