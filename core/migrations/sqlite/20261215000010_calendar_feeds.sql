-- Calendar feeds (see the PostgreSQL migration of the same name).
CREATE TABLE calendar_feeds (
    id          BLOB PRIMARY KEY,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX calendar_feeds_secret_hash_key ON calendar_feeds (secret_hash);
CREATE INDEX calendar_feeds_user_idx ON calendar_feeds (user_id, created_at);
