-- The statements todo-api runs in the transaction of one task creation with a tag.
\set n random(1, 1000)
BEGIN;
SELECT id, email, display_name, time_zone, created_at FROM users WHERE id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n), 12, '0'))::uuid;
INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, due_all_day, recurrence, series_id, occurrence, series_anchor, completed_at, created_at, updated_at)
  VALUES (gen_random_uuid(), ('00000000-0000-7000-8000-' || lpad(to_hex(:n), 12, '0'))::uuid, 'Bench task', '', 'open', 3, 1796000000000, false, NULL, NULL, NULL, NULL, NULL, 1796000000000, 1796000000000);
INSERT INTO tags (id, user_id, name, name_key, color, created_at, updated_at) VALUES (gen_random_uuid(), ('00000000-0000-7000-8000-' || lpad(to_hex(:n), 12, '0'))::uuid, 'work', 'work', '#808080', 0, 0) ON CONFLICT DO NOTHING;
SELECT id FROM tags WHERE user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n), 12, '0'))::uuid AND name_key = 'work';
INSERT INTO outbox (event_id, topic, partition_key, payload, created_at, next_attempt_at) VALUES (gen_random_uuid(), 'task-events', 'u', '{"bench":true}', 1796000000000, 1796000000000);
INSERT INTO outbox (event_id, topic, partition_key, payload, created_at, next_attempt_at) VALUES (gen_random_uuid(), 'task-updates', 'u', '{"bench":true}', 1796000000000, 1796000000000);
SELECT pg_notify('todo_outbox', '');
COMMIT;
