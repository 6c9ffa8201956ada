-- A task row carries its tags (see the PostgreSQL migration of the same name); ids travel as hex, as
-- reads aggregated them before. NULL: no tags.
ALTER TABLE tasks ADD COLUMN tags_json TEXT;

UPDATE tasks SET tags_json = (
    SELECT json_group_array(json_array(hex(g.id), g.name, g.color) ORDER BY g.name_key)
    FROM task_tags tt JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id = tasks.id)
WHERE EXISTS (SELECT 1 FROM task_tags tt WHERE tt.task_id = tasks.id);
