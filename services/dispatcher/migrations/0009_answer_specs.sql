-- A project's answer spec: the shape of its results. Only the current one is kept:
-- the matcher checks results at SubmitWork against the spec a claim froze when it was
-- granted (its copy, from ProjectChanged), so the dispatcher never reads an older one.
--
-- NULL: the project never had one (version 0). Otherwise crewline.answers.to_json,
-- {"version": n, "fields": [...]}; removing a spec makes a version with no fields.
-- json, not jsonb: the text is kept as written, so a scale's bound reads back as the
-- same float (jsonb's numeric prints 1e+23 as 24 digits, which Python reads as an int
-- that is not 1e23, and a repeated update would then look like a new version).
ALTER TABLE projects ADD COLUMN answer_spec json
    CHECK (answer_spec IS NULL OR (answer_spec->>'version')::integer > 0);
