-- Bulk-load the benchmark data set straight into a migrated TodoPlatform PostgreSQL database:
-- :users users × :per_user tasks, 10 tags per user (~15% of tasks carry each), realistic titles and
-- descriptions from a word list, 70% with due dates, 30% completed. User ids are deterministic
-- (…-8000-<hex n>) so tokens and pgbench scripts can address user n.
-- Where the schema has projects (migration 9): every user's Inbox (its id is the user's) and three more
-- projects, none archived; tasks go in blocks of 20 (by creation order), ~80% of them in the Inbox and the
-- rest spread over the other three; every 20th task (the 19th of each block) is a subtask of the one before
-- it, in the same project. The same script seeds a database of the schema before projects, without them.
-- Deterministic: random() is seeded and every id is derived from its user and position, so two databases
-- seeded alike hold the same data (before/after comparisons; the schema's own columns aside).
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SELECT setseed(0.42) AS seeded \gset
SELECT EXISTS (SELECT FROM information_schema.columns WHERE table_name = 'tasks' AND column_name = 'project_id') AS has_projects \gset
\if :has_projects
\set project_cols ', project_id, parent_id'
\set project_vals ', project_id, parent_id'
\else
\set project_cols ''
\set project_vals ''
\endif
CREATE TEMP TABLE words AS SELECT ARRAY[
 'report','invoice','garden','groceries','meeting','dentist','birthday','project','review','budget',
 'laundry','flight','hotel','passport','insurance','taxes','renewal','presentation','deadline','client',
 'kitchen','repair','painting','bicycle','running','training','marathon','doctor','pharmacy','vaccine',
 'library','books','homework','exam','lecture','thesis','research','paper','conference','workshop',
 'email','phone','call','message','letter','package','delivery','return','order','subscription',
 'music','guitar','piano','concert','tickets','movie','dinner','lunch','breakfast','recipe',
 'cleaning','vacuum','windows','garage','basement','attic','furniture','sofa','lamp','curtains',
 'car','service','tyres','oil','parking','license','registration','bank','transfer','savings',
 'mortgage','rent','landlord','lease','utilities','electricity','water','internet','router','backup',
 'laptop','printer','update','install','deploy','release','bugfix','refactor','database','server'] AS w;

-- Bulk load: let the per-user search index queue its entries, then merge them once (the app runs it with
-- fastupdate off so searches never scan a pending list).
ALTER INDEX tasks_search_by_owner SET (fastupdate = on);

INSERT INTO users (id, email, password_hash, display_name, time_zone, created_at, updated_at)
SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'user' || g || '@bench.test', 'x', 'User ' || g,
       (ARRAY['UTC','Europe/Berlin','America/New_York','Asia/Tokyo'])[1 + g % 4], 0, 0
FROM generate_series(1, :users) g;

\if :has_projects
INSERT INTO projects (id, user_id, name, name_key, color, position, inbox, created_at, updated_at)
SELECT CASE WHEN p.k = 0 THEN u.id ELSE md5(u.id::text || ':project:' || p.k)::uuid END, u.id, p.name, lower(p.name),
       p.color, p.k, p.k = 0, 0, 0
FROM users u CROSS JOIN (VALUES (0, 'Inbox', '#808080'), (1, 'Work', '#336699'), (2, 'Home', '#669933'),
                                (3, 'Side project', '#993366')) AS p (k, name, color);
\endif

INSERT INTO tags (id, user_id, name, name_key, color, created_at, updated_at)
SELECT md5(u.id::text || ':tag:' || t.name)::uuid, u.id, t.name, t.name, '#336699', 0, 0
FROM users u CROSS JOIN unnest(ARRAY['work','home','errands','health','finance','travel','family','study','garden','music']) AS t(name);

INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, due_all_day, created_at, updated_at, search :project_cols)
SELECT id, user_id, title, description, status, priority, due_at, false, created, created,
       setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', description), 'B')
       :project_vals
FROM (
  SELECT id, user_id, title, description, status, priority, due_at, created,
         CASE WHEN abs(hashtext(user_id::text || ':' || (n / 20))) % 100 < 80 THEN user_id
              ELSE md5(user_id::text || ':project:' || (1 + abs(hashtext(user_id::text || ':' || (n / 20))) % 3))::uuid END AS project_id,
         CASE WHEN n % 20 = 19 THEN md5(user_id::text || ':' || (n - 1))::uuid END AS parent_id
  FROM (
  SELECT md5(u.id::text || ':' || n)::uuid AS id, u.id AS user_id, n,
         initcap(w[1 + (random() * 99)::int]) || ' ' || w[1 + (random() * 99)::int] || ' ' || w[1 + (random() * 99)::int] AS title,
         w[1 + (random() * 99)::int] || ' ' || w[1 + (random() * 99)::int] || ' ' || w[1 + (random() * 99)::int] || ' '
           || w[1 + (random() * 99)::int] || ' ' || w[1 + (random() * 99)::int] || ' ' || w[1 + (random() * 99)::int] || ' '
           || w[1 + (random() * 99)::int] || ' ' || w[1 + (random() * 99)::int] AS description,
         CASE WHEN random() < 0.3 THEN 'completed' WHEN random() < 0.15 THEN 'in_progress' ELSE 'open' END AS status,
         (random() * 4)::int AS priority,
         CASE WHEN random() < 0.7 THEN 1767225600000 + (random() * 31536000000)::bigint END AS due_at,
         1767225600000 + n * 60000 AS created
  FROM users u CROSS JOIN generate_series(1, :per_user) n CROSS JOIN words
  ) r
) s;

INSERT INTO task_tags (task_id, tag_id)
SELECT t.id, g.id FROM tasks t JOIN tags g ON g.user_id = t.user_id
WHERE abs(hashtext(t.id::text || g.name)) % 100 < 15;

UPDATE tasks t SET search = t.search || setweight(to_tsvector('english', x.names), 'C'), tags_json = x.tags_json
FROM (SELECT tt.task_id, string_agg(g.name, ' ') AS names,
             json_agg(json_build_array(g.id, g.name, g.color) ORDER BY g.name_key)::text AS tags_json
      FROM task_tags tt JOIN tags g ON g.id = tt.tag_id GROUP BY tt.task_id) x
WHERE x.task_id = t.id;

\if :has_projects
-- What the store keeps on each task row: its direct subtasks, all and completed.
UPDATE tasks p SET subtask_count = c.n, subtasks_done = c.done
FROM (SELECT parent_id, count(*) AS n, count(*) FILTER (WHERE status = 'completed') AS done
      FROM tasks WHERE parent_id IS NOT NULL GROUP BY parent_id) c
WHERE p.id = c.parent_id;
\endif

SELECT gin_clean_pending_list('tasks_search_by_owner') \gset
ALTER INDEX tasks_search_by_owner SET (fastupdate = off);
VACUUM ANALYZE;
SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM tasks) AS tasks, (SELECT count(*) FROM task_tags) AS task_tags;
\if :has_projects
SELECT (SELECT count(*) FROM projects) AS projects, (SELECT count(*) FROM tasks WHERE project_id <> user_id) AS tasks_outside_inbox,
       (SELECT count(*) FROM tasks WHERE parent_id IS NOT NULL) AS subtasks;
\endif
