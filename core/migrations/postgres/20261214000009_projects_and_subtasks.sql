-- Projects (lists) and subtasks. Every task belongs to exactly one project; every user has an Inbox, which
-- can be renamed and recoloured but not archived or deleted. The Inbox's id is its user's id: one per user
-- by construction, known without a lookup, and this migration can give every existing user one in plain SQL.
-- position orders a user's other projects (the Inbox comes first); archived_at hides a project and its
-- tasks from listings that do not ask for it by id.
CREATE TABLE projects (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL,
    -- Unicode-lowercased name, computed by the app so both stores compare names the same way.
    name_key    text NOT NULL,
    color       text NOT NULL,
    position    integer NOT NULL,
    inbox       boolean NOT NULL DEFAULT false,
    archived_at bigint,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    CHECK (NOT inbox OR (id = user_id AND archived_at IS NULL))
);
CREATE UNIQUE INDEX projects_user_name_key ON projects (user_id, name_key);

INSERT INTO projects (id, user_id, name, name_key, color, position, inbox, created_at, updated_at)
SELECT id, id, 'Inbox', 'inbox', '#808080', 0, true, created_at, created_at FROM users;

-- Existing tasks land in their owner's Inbox.
ALTER TABLE tasks ADD COLUMN project_id uuid REFERENCES projects (id);
UPDATE tasks SET project_id = user_id;
ALTER TABLE tasks ALTER COLUMN project_id SET NOT NULL;
CREATE INDEX tasks_project ON tasks (project_id);

-- Subtasks: a task may have a parent (another of its owner's tasks, in the same project), at most four
-- levels deep (the store checks). Deleting a parent deletes its subtasks; the store does it first, so each
-- gets its event, and the cascade only keeps the rule.
ALTER TABLE tasks ADD COLUMN parent_id uuid REFERENCES tasks (id) ON DELETE CASCADE;
CREATE INDEX tasks_parent ON tasks (parent_id) WHERE parent_id IS NOT NULL;
-- A task's direct subtasks, all and completed, kept by the store with every write that changes them: read
-- with every task, they would otherwise cost two index probes per row of every page (measured: 12-23 %
-- of search and list throughput).
ALTER TABLE tasks ADD COLUMN subtask_count integer NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN subtasks_done integer NOT NULL DEFAULT 0;
-- The archived projects of a user, looked up before a listing that leaves them out (most users have none,
-- and their listing then runs exactly as before).
CREATE INDEX projects_archived ON projects (user_id) WHERE archived_at IS NOT NULL;

-- The owner index carries the project and the parent too, so a listing filtered by either (or leaving out
-- archived projects) stays an index-only scan. CREATE INDEX blocks writes to tasks while it builds (about
-- 3 s per million tasks on 2 cores).
DROP INDEX tasks_by_owner;
CREATE INDEX tasks_by_owner ON tasks (user_id, created_at, id)
    INCLUDE (status, priority, due_at, updated_at, series_anchor, project_id, parent_id);
