-- The statement todo-api runs for one filtered, sorted list request (open, high/urgent, by due date), as
-- core/src/store/tasks/list.rs builds it: the page's ids from the covering index, then those rows (each
-- carries its tags) with their reminders. The caller lookup and the archived-projects lookup (none here) are
-- skipped while the store remembers the caller (core/src/store/callers.rs), as under load it mostly does.
\set n random(1, 1000)
SELECT t.id, t.title, t.description, t.status, t.priority, t.project_id, t.parent_id, t.subtask_count, t.subtasks_done, t.due_at, t.due_all_day, t.recurrence, t.series_id, t.occurrence, t.series_anchor, t.completed_at, t.created_at, t.updated_at, t.tags_json, (SELECT json_agg(json_build_array(r.id, r.at, r.minutes_before, r.fire_at, r.fired_at, r.fired_event_id) ORDER BY r.fire_at IS NULL, r.fire_at, r.id)::text FROM reminders r WHERE r.task_id = t.id) AS reminders_json, k.rank, k.sort_int
  FROM (SELECT * FROM (SELECT t.id, NULL AS rank, COALESCE(t.due_at, 9223372036854775807) AS sort_int FROM tasks t
                        WHERE t.user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid AND t.status IN ('open') AND t.priority IN (3, 4)) x
        ORDER BY sort_int ASC, id ASC LIMIT 21) k
  JOIN tasks t ON t.id = k.id AND t.user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid ORDER BY k.sort_int ASC, k.id ASC;
