-- Tables owned by the worker roles (the API never writes them).

-- Consumer idempotency: an event id is recorded in the same transaction as the consumer's effect.
CREATE TABLE worker_processed_events (
    consumer     TEXT NOT NULL,
    event_id     BLOB NOT NULL,
    processed_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
);

-- audit: one row per task event.
CREATE TABLE worker_activity (
    event_id   BLOB PRIMARY KEY,
    user_id    BLOB NOT NULL,
    task_id    BLOB NOT NULL,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    changed    TEXT NOT NULL DEFAULT '',
    at         INTEGER NOT NULL
);
CREATE INDEX worker_activity_task ON worker_activity (user_id, task_id, at);

-- notifier: one row per (reminder event, channel); "sent" is final.
CREATE TABLE worker_deliveries (
    event_id   BLOB NOT NULL,
    channel    TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    status     TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (event_id, channel)
);

-- Dead letters seen by the in-process bus (Kubernetes uses the dead-letter topics).
CREATE TABLE worker_dead_letters (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    topic    TEXT NOT NULL,
    event_id BLOB NOT NULL,
    payload  TEXT NOT NULL,
    at       INTEGER NOT NULL
);
