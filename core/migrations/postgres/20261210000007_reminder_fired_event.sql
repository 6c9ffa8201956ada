-- The reminder.due event of a reminder's last firing: the notifier records its deliveries per event, so
-- the API reads a reminder's delivery state (email sent, webhook retrying…) by this id. Cleared when a
-- moved due date re-arms the reminder. NULL for firings before this column (their state is not shown).
ALTER TABLE reminders ADD COLUMN fired_event_id uuid;
