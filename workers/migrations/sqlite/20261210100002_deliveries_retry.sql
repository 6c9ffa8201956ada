-- The notifier retries deliveries itself (see the PostgreSQL migration of the same name).
ALTER TABLE worker_deliveries ADD COLUMN id BLOB;
ALTER TABLE worker_deliveries ADD COLUMN user_id BLOB;
ALTER TABLE worker_deliveries ADD COLUMN task_id BLOB;
ALTER TABLE worker_deliveries ADD COLUMN reminder_id BLOB;
ALTER TABLE worker_deliveries ADD COLUMN task_title TEXT NOT NULL DEFAULT '';
ALTER TABLE worker_deliveries ADD COLUMN payload TEXT;
ALTER TABLE worker_deliveries ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE worker_deliveries ADD COLUMN claimed_until INTEGER;
ALTER TABLE worker_deliveries ADD COLUMN retry_from INTEGER;
ALTER TABLE worker_deliveries ADD COLUMN sent_at INTEGER;
ALTER TABLE worker_deliveries ADD COLUMN created_at INTEGER;

UPDATE worker_deliveries SET id = randomblob(16), created_at = updated_at,
    sent_at = CASE WHEN status = 'sent' THEN updated_at END;
UPDATE worker_deliveries SET status = 'failed', last_error = COALESCE(last_error, 'interrupted')
WHERE status = 'sending';

CREATE UNIQUE INDEX worker_deliveries_id ON worker_deliveries (id);
CREATE INDEX worker_deliveries_due ON worker_deliveries (next_attempt_at) WHERE status IN ('pending', 'retrying');
CREATE INDEX worker_deliveries_user ON worker_deliveries (user_id, created_at);
