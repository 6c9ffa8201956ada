-- Failed logins per account and per client address (see the PostgreSQL migration of the same name).
CREATE TABLE login_failures (
    key TEXT PRIMARY KEY,
    window_started_at INTEGER NOT NULL,
    failures INTEGER NOT NULL CHECK (failures > 0)
);
CREATE INDEX login_failures_by_start ON login_failures (window_started_at);
