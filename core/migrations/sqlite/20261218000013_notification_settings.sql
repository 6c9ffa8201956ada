-- Notification settings and personal webhooks (see the PostgreSQL migration of the same name).
CREATE TABLE notification_settings (
    user_id       BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email_enabled BOOLEAN NOT NULL DEFAULT 1,
    email_address TEXT,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE webhooks (
    id               BLOB PRIMARY KEY,
    user_id          BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    url              TEXT NOT NULL,
    secret           TEXT NOT NULL,
    enabled          BOOLEAN NOT NULL DEFAULT 1,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_test_at     INTEGER,
    last_test_status INTEGER,
    last_test_error  TEXT
);
CREATE INDEX webhooks_user_idx ON webhooks (user_id, created_at);
