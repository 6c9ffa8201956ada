-- Calendar feeds: per-user secret ICS URLs (GET /api/v1/calendar/{secret}.ics) that calendar apps poll
-- without an Authorization header. Like access tokens, only the SHA-256 of the secret is kept and a feed is
-- found by it; deleting the row revokes the URL.
CREATE TABLE calendar_feeds (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL,
    secret_hash bytea NOT NULL,
    created_at  bigint NOT NULL
);
CREATE UNIQUE INDEX calendar_feeds_secret_hash_key ON calendar_feeds (secret_hash);
CREATE INDEX calendar_feeds_user_idx ON calendar_feeds (user_id, created_at);
