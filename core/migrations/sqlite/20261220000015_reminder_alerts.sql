-- In-app alerts: a reminder that fired stays an alert in the user's web UI (on every device, and after a
-- reload) until the user dismisses it, snoozes it or completes its task. Firing again clears the dismissal.
ALTER TABLE reminders ADD COLUMN dismissed_at bigint;
-- The alerts of a user, newest first: fired, not dismissed.
CREATE INDEX reminders_alerts ON reminders (user_id, fired_at) WHERE fired_at IS NOT NULL AND dismissed_at IS NULL;
