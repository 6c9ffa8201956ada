-- A task's owner is its project's owner, and the database now says so with one foreign key on both
-- columns instead of one on each. Creating a task then checks one referenced row instead of two (each
-- check share-locks that row, a WAL record per task created), and the index on project_id alone can go:
-- it existed for the single-column key's checks and the per-project counts, and both now look tasks up
-- by (user_id, project_id), which tasks_by_owner covers (project_id is among its included columns).
-- Inserting into that index put each new task on a page of its own project's, one more page written
-- (a full-page image after each checkpoint) per task created.
--
-- Deleting an account deletes its projects (projects.user_id cascades), which now delete their tasks,
-- as deleting the account deleted them before. A project itself is deleted only after the store has
-- moved or deleted its tasks one by one, each with its event, while holding the project's row: a task
-- cannot be added to it meanwhile (its key check waits for the row), so the cascade finds nothing.
-- SQLite keeps its per-column keys: its key checks write nothing.
ALTER TABLE projects ADD CONSTRAINT projects_owner_id UNIQUE (user_id, id);
ALTER TABLE tasks ADD CONSTRAINT tasks_project_owner FOREIGN KEY (user_id, project_id)
    REFERENCES projects (user_id, id) ON DELETE CASCADE NOT VALID;
ALTER TABLE tasks VALIDATE CONSTRAINT tasks_project_owner;
ALTER TABLE tasks DROP CONSTRAINT tasks_project_id_fkey;
ALTER TABLE tasks DROP CONSTRAINT tasks_user_id_fkey;
DROP INDEX tasks_project;
