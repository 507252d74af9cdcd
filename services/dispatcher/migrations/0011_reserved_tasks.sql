-- Reserved tasks: a gold task the quality service issued to one contractor (GoldIssued)
-- is published as a task offered to them alone, and ends once their claim on it ends.
-- NULL for every other task. The client sees it (Task.reserved_for); no contractor does.
ALTER TABLE tasks ADD COLUMN reserved_for text;
