-- TodoPlatform API schema (SQLite). Mirrors the PostgreSQL schema; times are UTC epoch milliseconds.
CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    time_zone     TEXT NOT NULL DEFAULT 'UTC',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- seq is the FTS rowid; an explicit INTEGER PRIMARY KEY survives VACUUM (an implicit rowid may not).
CREATE TABLE tasks (
    seq           INTEGER PRIMARY KEY,
    id            BLOB NOT NULL UNIQUE,
    user_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'completed')),
    priority      INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 4),
    due_at        INTEGER,
    due_all_day   BOOLEAN NOT NULL DEFAULT 0,
    recurrence    TEXT,
    series_id     BLOB,
    occurrence    INTEGER,
    series_anchor TEXT,
    completed_at  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CHECK ((recurrence IS NULL) = (series_anchor IS NULL))
);
-- Covers every list filter, so finding a page's ids needs no table lookups (see the PostgreSQL schema).
CREATE INDEX tasks_user_cover ON tasks (user_id, status, priority, due_at, created_at, updated_at, series_anchor, id);
CREATE INDEX tasks_user_created ON tasks (user_id, created_at, id);
CREATE INDEX tasks_user_due ON tasks (user_id, due_at, id);
CREATE UNIQUE INDEX tasks_series_occurrence ON tasks (series_id, occurrence) WHERE series_id IS NOT NULL;

-- Porter stemming for word stems, prefix indexes for search-as-you-type.
CREATE VIRTUAL TABLE task_fts USING fts5 (title, description, tags, tokenize = 'porter unicode61', prefix = '2 3 4');
CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN
    DELETE FROM task_fts WHERE rowid = old.seq;
END;

CREATE TABLE tags (
    id         BLOB PRIMARY KEY,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    color      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX tags_user_name_key ON tags (user_id, name_key);

CREATE TABLE task_tags (
    task_id BLOB NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    tag_id  BLOB NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, tag_id)
);
CREATE INDEX task_tags_tag ON task_tags (tag_id);

CREATE TABLE reminders (
    id             BLOB PRIMARY KEY,
    task_id        BLOB NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id        BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at             INTEGER,
    minutes_before INTEGER,
    fire_at        INTEGER,
    fired_at       INTEGER,
    claimed_until  INTEGER,
    created_at     INTEGER NOT NULL,
    CHECK ((at IS NULL) <> (minutes_before IS NULL))
);
CREATE INDEX reminders_task ON reminders (task_id);
CREATE INDEX reminders_pending ON reminders (fire_at) WHERE fired_at IS NULL AND fire_at IS NOT NULL;

CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        BLOB NOT NULL,
    topic           TEXT NOT NULL,
    partition_key   TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    published_at    INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
