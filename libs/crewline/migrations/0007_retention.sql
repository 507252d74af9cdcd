-- Retention (crewline.retention): sent outbox rows and inbox rows are deleted once
-- past their retention, oldest first, in bounded batches. These indexes let each
-- batch read exactly its oldest rows instead of scanning the tables.
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX inbox_processed ON inbox (processed_at);
