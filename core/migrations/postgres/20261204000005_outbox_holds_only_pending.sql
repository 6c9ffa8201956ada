-- The relay deletes an event once it is published instead of marking it: a delete writes no new row
-- version carrying the payload and no new index entry, and published rows no longer pile up (nothing
-- pruned them). Rows already published go now. Until every replica runs this version, an older replica's
-- relay fails its statements and leaves its claimed rows to the lease: they are published again by a newer
-- one, and consumers de-duplicate by event id.
DELETE FROM outbox WHERE published_at IS NOT NULL;
DROP INDEX outbox_pending;
ALTER TABLE outbox DROP COLUMN published_at;
