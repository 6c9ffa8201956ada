-- The statements todo-api runs for one task creation with a tag: the caller lookup, then one transaction
-- (the tag looked up, the task with its search document, the tag link, both outbox rows in one INSERT;
-- the outbox trigger sends the relay's NOTIFY).
\set n random(1, 1000)
SELECT id, email, display_name, time_zone, created_at FROM users WHERE id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid;
BEGIN;
SELECT id, name, color FROM tags WHERE user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid AND name_key = 'work' \gset tag_
INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, due_all_day, recurrence, series_id, occurrence, series_anchor, completed_at, created_at, updated_at, search)
  VALUES (gen_random_uuid(), ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid, 'Invoice garden 42', '', 'open', 3, 1796000000000, false, NULL, NULL, NULL, NULL, NULL, 1796000000000, 1796000000000,
          setweight(to_tsvector('english', 'Invoice garden 42'), 'A') || setweight(to_tsvector('english', ''), 'B') || setweight(to_tsvector('english', 'work'), 'C'))
  RETURNING id AS task_id \gset
INSERT INTO task_tags (task_id, tag_id) VALUES (:task_id::uuid, :tag_id::uuid) ON CONFLICT DO NOTHING;
INSERT INTO outbox (event_id, topic, partition_key, payload, created_at, next_attempt_at)
  VALUES (gen_random_uuid(), 'task-events', 'u', '{"type": "todo.task.created.v1"}', 1796000000000, 1796000000000),
         (gen_random_uuid(), 'task-updates', 'u', '{"type": "todo.task.created.v1"}', 1796000000000, 1796000000000);
COMMIT;
