-- Answer specs: the shape a project gives its results. SubmitWork checks a result
-- against the spec in force when its claim was granted, and a project may change its
-- spec while claims granted under the old one are still live: so every version is
-- kept. Versions count from 1 (the dispatcher's numbering, from ProjectChanged); 0 is
-- "no spec" and has no row. A version with no fields is a removed spec: any bytes.
-- A version never changes once written, so the matcher caches them by (project,
-- version) in the process.
CREATE TABLE answer_specs (
    project_id text NOT NULL,
    version    integer NOT NULL CHECK (version > 0),
    -- crewline.answers.to_json, as text: jsonb would keep numbers as numeric, and a
    -- scale bound such as 1e23 would read back as an integer, not the float sent.
    spec       json NOT NULL,
    PRIMARY KEY (project_id, version)
);

-- The project's current spec (0: none yet), raised with the revision that brings it.
ALTER TABLE projects
    ADD COLUMN answer_spec_version integer NOT NULL DEFAULT 0 CHECK (answer_spec_version >= 0);

-- The spec a claim answers to: its project's current one when the claim was granted.
-- Claims from before specs had none.
ALTER TABLE claims
    ADD COLUMN answer_spec_version integer NOT NULL DEFAULT 0 CHECK (answer_spec_version >= 0);

-- Claims are inserted in one place, claim_task() (0005; claim_tasks() in 0007 calls it
-- per claim). Rather than copy that long function to add one column, this trigger copies
-- the project's current spec version onto every new claim, as claim_task() copies the
-- project's terms.
--
-- It reads the project as of the INSERT, a later statement than the one in which
-- claim_task() read the project and checked its revision (each statement of a plpgsql
-- function sees what has committed by then). The two agree because a change of spec
-- takes the project's advisory lock exclusively (matcher/handlers/projects.py), as a
-- pause or close does, and claim_task() holds it shared from before its read to its
-- commit: no spec change commits between the two reads. So a claim's spec version is
-- the one of the project revision it was granted under, which the matcher's ClaimTask
-- (which knows that revision) shows without reading the claim back.
CREATE FUNCTION claims_copy_answer_spec_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.answer_spec_version := coalesce(
        (SELECT p.answer_spec_version FROM projects p WHERE p.project_id = NEW.project_id), 0);
    RETURN NEW;
END;
$$;

CREATE TRIGGER claims_answer_spec_version BEFORE INSERT ON claims
    FOR EACH ROW EXECUTE FUNCTION claims_copy_answer_spec_version();
