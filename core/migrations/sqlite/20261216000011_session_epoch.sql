-- Session epochs (see the PostgreSQL migration of the same name).
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
