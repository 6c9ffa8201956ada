-- Personal access tokens: a user's long-lived credentials for scripts, MCP clients and the event stream.
-- Only the SHA-256 of the secret is kept (the secret is shown once, when created); a token is found by it.
-- scope is 'read' (GET and HEAD only) or 'read-write'; expires_at NULL means never. last_used_at is
-- written at most once a minute per token.
CREATE TABLE access_tokens (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    scope        text NOT NULL CHECK (scope IN ('read', 'read-write')),
    secret_hash  bytea NOT NULL,
    created_at   bigint NOT NULL,
    expires_at   bigint,
    last_used_at bigint
);
CREATE UNIQUE INDEX access_tokens_secret_hash_key ON access_tokens (secret_hash);
CREATE INDEX access_tokens_user_idx ON access_tokens (user_id, created_at);
