-- Tables owned by the worker roles (the API never writes them).

-- Consumer idempotency: an event id is recorded in the same transaction as the consumer's effect.
CREATE TABLE worker_processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at bigint NOT NULL,
    PRIMARY KEY (consumer, event_id)
);

-- audit: one row per task event.
CREATE TABLE worker_activity (
    event_id   uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    task_id    uuid NOT NULL,
    kind       text NOT NULL,
    title      text NOT NULL,
    changed    text NOT NULL DEFAULT '',
    at         bigint NOT NULL
);
CREATE INDEX worker_activity_task ON worker_activity (user_id, task_id, at);

-- notifier: one row per (reminder event, channel); "sent" is final.
CREATE TABLE worker_deliveries (
    event_id   uuid NOT NULL,
    channel    text NOT NULL,
    recipient  text NOT NULL,
    status     text NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    last_error text,
    updated_at bigint NOT NULL,
    PRIMARY KEY (event_id, channel)
);

-- Dead letters seen by the in-process bus (Kubernetes uses the dead-letter topics).
CREATE TABLE worker_dead_letters (
    id       bigserial PRIMARY KEY,
    topic    text NOT NULL,
    event_id uuid NOT NULL,
    payload  text NOT NULL,
    at       bigint NOT NULL
);
