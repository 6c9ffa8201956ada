-- The reminder.due event of a reminder's last firing (see the PostgreSQL migration of the same name).
ALTER TABLE reminders ADD COLUMN fired_event_id BLOB;
