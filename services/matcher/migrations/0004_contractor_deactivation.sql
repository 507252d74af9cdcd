-- Why and when an operator deactivated a contractor, for the record.
ALTER TABLE contractors
    ADD COLUMN deactivated_at      timestamptz,
    ADD COLUMN deactivation_reason text;

-- ListBlocks shows lifted blocks too; blocks_in_force holds only the others.
CREATE INDEX blocks_by_contractor ON blocks (contractor_id, blocked_at, block_id);
