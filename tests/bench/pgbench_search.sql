-- The statement todo-api runs for one search request: the ranked page from the per-user search index, each
-- row with its tags and reminders, in one pass. The caller lookup and the archived-projects lookup (none
-- here) are skipped while the store remembers the caller (core/src/store/callers.rs), as under load it
-- mostly does.
\set n random(1, 1000)
\set w random(1, 10)
SELECT t.id, t.title, t.description, t.status, t.priority, t.project_id, t.parent_id, t.subtask_count, t.subtasks_done, t.due_at, t.due_all_day, t.recurrence, t.series_id, t.occurrence, t.series_anchor, t.completed_at, t.created_at, t.updated_at, t.tags_json, (SELECT json_agg(json_build_array(r.id, r.at, r.minutes_before, r.fire_at, r.fired_at, r.fired_event_id) ORDER BY r.fire_at IS NULL, r.fire_at, r.id)::text FROM reminders r WHERE r.task_id = t.id) AS reminders_json, t.rank
  FROM (SELECT * FROM (SELECT t.user_id, t.id, t.title, t.description, t.status, t.priority, t.project_id, t.parent_id, t.subtask_count, t.subtasks_done, t.due_at, t.due_all_day, t.recurrence, t.series_id, t.occurrence, t.series_anchor, t.completed_at, t.created_at, t.updated_at, t.tags_json,
                              CAST(ts_rank_cd(t.search, to_tsquery('english', (ARRAY['report:*','invoice:*','garden:*','groc:*','meet:*','dentist:*','budg:*','flight:*','tax:*','doc:*'])[:w::int])) AS DOUBLE PRECISION) AS rank
                         FROM tasks t
                        WHERE task_search_scoped(t.user_id, t.search) @@ task_search_scoped_query(('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid, to_tsquery('english', (ARRAY['report:*','invoice:*','garden:*','groc:*','meet:*','dentist:*','budg:*','flight:*','tax:*','doc:*'])[:w::int]))
                          AND t.search @@ to_tsquery('english', (ARRAY['report:*','invoice:*','garden:*','groc:*','meet:*','dentist:*','budg:*','flight:*','tax:*','doc:*'])[:w::int])) x
        ORDER BY rank DESC, id DESC LIMIT 21) t
 WHERE t.user_id = ('00000000-0000-7000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid ORDER BY t.rank DESC, t.id DESC;
