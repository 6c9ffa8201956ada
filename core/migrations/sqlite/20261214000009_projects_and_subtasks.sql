-- Projects and subtasks (see the PostgreSQL migration of the same name).
CREATE TABLE projects (
    id          BLOB PRIMARY KEY,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    color       TEXT NOT NULL,
    position    INTEGER NOT NULL,
    inbox       BOOLEAN NOT NULL DEFAULT 0,
    archived_at INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CHECK (NOT inbox OR (id = user_id AND archived_at IS NULL))
);
CREATE UNIQUE INDEX projects_user_name_key ON projects (user_id, name_key);

INSERT INTO projects (id, user_id, name, name_key, color, position, inbox, created_at, updated_at)
SELECT id, id, 'Inbox', 'inbox', '#808080', 0, 1, created_at, created_at FROM users;

-- SQLite cannot add a NOT NULL column that references another table; the store always writes it.
ALTER TABLE tasks ADD COLUMN project_id BLOB REFERENCES projects (id);
UPDATE tasks SET project_id = user_id;
CREATE INDEX tasks_project ON tasks (project_id);

ALTER TABLE tasks ADD COLUMN parent_id BLOB REFERENCES tasks (id) ON DELETE CASCADE;
CREATE INDEX tasks_parent ON tasks (parent_id) WHERE parent_id IS NOT NULL;
ALTER TABLE tasks ADD COLUMN subtask_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN subtasks_done INTEGER NOT NULL DEFAULT 0;
CREATE INDEX projects_archived ON projects (user_id) WHERE archived_at IS NOT NULL;

DROP INDEX tasks_user_cover;
CREATE INDEX tasks_user_cover ON tasks (user_id, status, priority, due_at, created_at, updated_at, series_anchor, project_id, parent_id, id);
