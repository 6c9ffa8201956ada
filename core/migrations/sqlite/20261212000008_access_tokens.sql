-- Personal access tokens (see the PostgreSQL migration of the same name).
CREATE TABLE access_tokens (
    id           BLOB PRIMARY KEY,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'read-write')),
    secret_hash  BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER
);
CREATE UNIQUE INDEX access_tokens_secret_hash_key ON access_tokens (secret_hash);
CREATE INDEX access_tokens_user_idx ON access_tokens (user_id, created_at);
