-- Unpaid work (docs: Quality control, Exams): an unpaid exam's question reaches the pool
-- from TaskPublished.unpaid (false for every other task). Its offers and claims say so
-- and show no pay terms, its submitted work earns nothing and a cut claim on it is owed
-- nothing. It never changes once published, so a claim reads it from its task rather
-- than keeping a copy: claim_task() is unchanged.
ALTER TABLE open_tasks ADD COLUMN unpaid boolean NOT NULL DEFAULT false;
