-- Contractors' quality scores, from the quality service's ScoreChanged: the latest value
-- of each measure in each project. Eligibility holds each like a score qualification
-- named after the measure in that project (crewline.qualifications.measure_key).
-- version is the quality service's, growing at each new value: a repeated or older one
-- changes nothing. No foreign key to contractors: a score is kept whatever arrives first,
-- and counts once the contractor is here (creating one refreshes their eligibility).
CREATE TABLE contractor_scores (
    contractor_id text NOT NULL,
    measure       text NOT NULL,  -- as requirements name it: quality.acceptance_rate
    project_id    text NOT NULL,  -- where it was measured
    value         integer NOT NULL CHECK (value BETWEEN 0 AND 100),
    version       bigint NOT NULL CHECK (version >= 1),
    changed_at    timestamptz NOT NULL,
    PRIMARY KEY (contractor_id, measure, project_id)
);
-- A project's requirement on a measure: every contractor's score there.
CREATE INDEX contractor_scores_by_project ON contractor_scores (measure, project_id);
-- Whether any project requires a given score (a requirement holds "q" and, for a
-- measure, "p"): a score that nothing requires changes no one's eligibility.
CREATE INDEX projects_requirements ON projects USING gin (requirements jsonb_path_ops);
