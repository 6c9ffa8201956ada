-- Failed logins per account and per client address, shared by every API replica, so the login limit is
-- one budget however many replicas serve (an in-memory count gave each replica its own). A row is one
-- window: when it started and the failures in it; expired rows are deleted as new failures are recorded.
-- Keys: 'account:<email, lowercased>' or 'address:<ip>'. Deleting an account's row unlocks it.
CREATE TABLE login_failures (
    key text PRIMARY KEY,
    window_started_at bigint NOT NULL,
    failures integer NOT NULL CHECK (failures > 0)
);
CREATE INDEX login_failures_by_start ON login_failures (window_started_at);
