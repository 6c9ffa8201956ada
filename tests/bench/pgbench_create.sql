-- The statements todo-api runs for one task creation with a tag the user has (core/src/store/tasks/create.rs,
-- PG_CREATE_TASK). The caller lookup and the tag lookup run only when the store does not remember them
-- (core/src/store/callers.rs; under load most requests skip them, so this ceiling is a conservative one).
-- Then one statement share-locks the tag and, if the caller's profile, the tag and the project (the Inbox)
-- are as the server read them, writes the task with its search document and its tags, the tag link and
-- both outbox rows.
\set n random(1, 1000)
SELECT id, email, display_name, time_zone, created_at, session_epoch FROM users WHERE id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid;
SELECT id, name, color FROM tags WHERE user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid AND name_key = ANY('{work}'::text[]) \gset tag_
WITH tagged AS (SELECT id, name, color, name_key FROM tags WHERE id = ANY(ARRAY[:tag_id::uuid]) AND user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid FOR SHARE),
task AS (
  INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, due_all_day, recurrence, series_id, occurrence, series_anchor, completed_at, created_at, updated_at, project_id, parent_id, search, tags_json)
  SELECT gen_random_uuid(), ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid, 'Invoice garden 42', '', 'open', 3, 1796000000000, false, NULL, NULL, NULL, NULL, NULL, 1796000000000, 1796000000000, ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid, NULL,
         setweight(to_tsvector('english', 'Invoice garden 42'), 'A') || setweight(to_tsvector('english', ''), 'B') || setweight(to_tsvector('english', 'work'), 'C'),
         (SELECT json_agg(json_build_array(g.id, g.name, g.color) ORDER BY g.name_key)::text FROM tagged g)
   WHERE EXISTS (SELECT FROM users WHERE id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid AND time_zone = (ARRAY['UTC','Europe/Berlin','America/New_York','Asia/Tokyo'])[1 + :n::int % 4] AND display_name = 'User ' || :n::int)
     AND EXISTS (SELECT FROM projects WHERE id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid AND user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid AND archived_at IS NULL)
     AND (SELECT count(*) FROM tagged g JOIN unnest(ARRAY[:tag_id::uuid], '{work}'::text[], '{#336699}'::text[]) AS e (id, name, color)
          ON g.id = e.id AND g.name = e.name AND g.color = e.color) = cardinality(ARRAY[:tag_id::uuid])
  RETURNING id),
links AS (INSERT INTO task_tags (task_id, tag_id) SELECT task.id, tag_id FROM task, unnest(ARRAY[:tag_id::uuid]) AS tag_id),
reminders AS (INSERT INTO reminders (id, task_id, user_id, at, minutes_before, fire_at, created_at)
  SELECT r.id, task.id, ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid, r.at, r.minutes_before, r.fire_at, 1796000000000
  FROM task, unnest('{}'::uuid[], '{}'::bigint[], '{}'::integer[], '{}'::bigint[]) AS r (id, at, minutes_before, fire_at))
INSERT INTO outbox (event_id, partition_key, payload, created_at, topic, next_attempt_at)
  SELECT gen_random_uuid(), 'u', '{"type": "todo.task.created.v1"}', 1796000000000, topic, 1796000000000
  FROM task, unnest('{task-events,task-updates}'::text[]) AS topic;
