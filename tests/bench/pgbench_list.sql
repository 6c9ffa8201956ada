-- The statements todo-api runs for one filtered, sorted list request (open, high/urgent, by due date).
\set n random(1, 1000)
SELECT id, email, display_name, time_zone, created_at FROM users WHERE id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n), 12, '0'))::uuid;
SELECT t.id, t.title, t.description, t.status, t.priority, t.due_at, t.due_all_day, t.recurrence, t.series_id, t.occurrence, t.series_anchor, t.completed_at, t.created_at, t.updated_at, k.rank, k.sort_int
  FROM (SELECT * FROM (SELECT t.id, NULL AS rank, COALESCE(t.due_at, 9223372036854775807) AS sort_int FROM tasks t
        WHERE t.user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n), 12, '0'))::uuid AND t.status IN ('open') AND t.priority IN (3, 4)) x
        ORDER BY sort_int ASC, id ASC LIMIT 21) k
  JOIN tasks t ON t.id = k.id ORDER BY k.sort_int ASC, k.id ASC;
SELECT tt.task_id, g.id, g.name, g.color FROM task_tags tt JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id IN (SELECT id FROM tasks WHERE user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n), 12, '0'))::uuid ORDER BY created_at LIMIT 20) ORDER BY g.name_key;
SELECT id, task_id, at, minutes_before, fire_at, fired_at FROM reminders WHERE task_id IN (SELECT id FROM tasks WHERE user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n), 12, '0'))::uuid ORDER BY created_at LIMIT 20) ORDER BY fire_at, id;
