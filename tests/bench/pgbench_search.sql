-- The statements todo-api runs for one search request (caller lookup, ranked match, tags, reminders).
\set n random(1, 1000)
\set w random(1, 10)
SELECT id, email, display_name, time_zone, created_at FROM users WHERE id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n), 12, '0'))::uuid;
SELECT t.id, t.title, t.description, t.status, t.priority, t.due_at, t.due_all_day, t.recurrence, t.series_id, t.occurrence, t.series_anchor, t.completed_at, t.created_at, t.updated_at, k.rank
  FROM (SELECT * FROM (SELECT t.id, CAST(ts_rank_cd(t.search, to_tsquery('english', (ARRAY['report:*','invoice:*','garden:*','groc:*','meet:*','dentist:*','budg:*','flight:*','tax:*','doc:*'])[:w])) AS DOUBLE PRECISION) AS rank FROM tasks t
        WHERE t.user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n), 12, '0'))::uuid AND t.search @@ to_tsquery('english', (ARRAY['report:*','invoice:*','garden:*','groc:*','meet:*','dentist:*','budg:*','flight:*','tax:*','doc:*'])[:w])) x
        ORDER BY rank DESC, id DESC LIMIT 21) k
  JOIN tasks t ON t.id = k.id ORDER BY k.rank DESC, k.id DESC;
SELECT tt.task_id, g.id, g.name, g.color FROM task_tags tt JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id IN (SELECT id FROM tasks WHERE user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n), 12, '0'))::uuid ORDER BY created_at LIMIT 20) ORDER BY g.name_key;
SELECT id, task_id, at, minutes_before, fire_at, fired_at FROM reminders WHERE task_id IN (SELECT id FROM tasks WHERE user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n), 12, '0'))::uuid ORDER BY created_at LIMIT 20) ORDER BY fire_at, id;
