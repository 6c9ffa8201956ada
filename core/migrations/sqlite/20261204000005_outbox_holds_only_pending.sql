-- The relay deletes an event once it is published instead of marking it, so the outbox holds only events
-- still to publish (see the PostgreSQL migration of the same name).
DELETE FROM outbox WHERE published_at IS NOT NULL;
DROP INDEX outbox_pending;
ALTER TABLE outbox DROP COLUMN published_at;
