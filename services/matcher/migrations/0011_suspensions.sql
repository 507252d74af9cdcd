-- Quality sanctions that suspend a contractor in a project, from the quality service's
-- SanctionChanged (action SUSPEND): the highest version of each, so a repeated or older
-- one changes nothing, and one that ends before its imposition arrives is not imposed
-- after. An active one holds a block (blocks.block_id 'sanction:' || sanction_id), which
-- eligibility, offers and claim_task() read as any project block.
CREATE TABLE suspensions (
    sanction_id   uuid PRIMARY KEY,
    contractor_id text NOT NULL,
    project_id    text NOT NULL,
    state         text NOT NULL CHECK (state IN ('active', 'ended', 'lifted')),
    version       bigint NOT NULL CHECK (version >= 1),
    changed_at    timestamptz NOT NULL  -- when this matcher applied the version
);
