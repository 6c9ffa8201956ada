-- Personal webhooks (see the PostgreSQL migration of the same name). SQLite cannot drop a primary key,
-- so the table is rebuilt with the delivery's id as its key.
CREATE TABLE worker_deliveries_new (
    id              BLOB PRIMARY KEY NOT NULL,
    event_id        BLOB NOT NULL,
    channel         TEXT NOT NULL,
    webhook_id      BLOB,
    recipient       TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    updated_at      INTEGER NOT NULL,
    user_id         BLOB,
    task_id         BLOB,
    reminder_id     BLOB,
    task_title      TEXT NOT NULL DEFAULT '',
    payload         TEXT,
    next_attempt_at INTEGER,
    claimed_until   INTEGER,
    retry_from      INTEGER,
    sent_at         INTEGER,
    created_at      INTEGER
);
INSERT INTO worker_deliveries_new (id, event_id, channel, recipient, status, attempts, last_error, updated_at,
    user_id, task_id, reminder_id, task_title, payload, next_attempt_at, claimed_until, retry_from, sent_at,
    created_at)
SELECT id, event_id, channel, recipient, status, attempts, last_error, updated_at, user_id, task_id,
    reminder_id, task_title, payload, next_attempt_at, claimed_until, retry_from, sent_at, created_at
FROM worker_deliveries;
DROP TABLE worker_deliveries;
ALTER TABLE worker_deliveries_new RENAME TO worker_deliveries;

CREATE UNIQUE INDEX worker_deliveries_channel ON worker_deliveries (event_id, channel) WHERE webhook_id IS NULL;
CREATE UNIQUE INDEX worker_deliveries_webhook ON worker_deliveries (event_id, webhook_id) WHERE webhook_id IS NOT NULL;
CREATE INDEX worker_deliveries_by_webhook ON worker_deliveries (webhook_id, updated_at) WHERE webhook_id IS NOT NULL;
CREATE INDEX worker_deliveries_due ON worker_deliveries (next_attempt_at) WHERE status IN ('pending', 'retrying');
CREATE INDEX worker_deliveries_user ON worker_deliveries (user_id, created_at);
