-- The notifier retries deliveries itself, with backoff over hours, instead of answering RETRY until the
-- broker dead-letters the event: a row holds the event it delivers (payload), whose reminder and user it
-- is (the API lists a user's deliveries and shows each reminder's), and where it stands:
--   status pending | retrying | sent | failed (given up after the retry window; can be replayed),
--   next_attempt_at (pending/retrying), claimed_until (an attempt in progress; a stale claim is retaken),
--   retry_from (start of the retry window: the first attempt, or the last replay).
ALTER TABLE worker_deliveries ADD COLUMN id uuid;
ALTER TABLE worker_deliveries ADD COLUMN user_id uuid;
ALTER TABLE worker_deliveries ADD COLUMN task_id uuid;
ALTER TABLE worker_deliveries ADD COLUMN reminder_id uuid;
ALTER TABLE worker_deliveries ADD COLUMN task_title text NOT NULL DEFAULT '';
ALTER TABLE worker_deliveries ADD COLUMN payload text;
ALTER TABLE worker_deliveries ADD COLUMN next_attempt_at bigint;
ALTER TABLE worker_deliveries ADD COLUMN claimed_until bigint;
ALTER TABLE worker_deliveries ADD COLUMN retry_from bigint;
ALTER TABLE worker_deliveries ADD COLUMN sent_at bigint;
ALTER TABLE worker_deliveries ADD COLUMN created_at bigint;

-- Rows from before: no event to resend ('sending' was an attempt cut short, its event since dead-lettered).
UPDATE worker_deliveries SET id = gen_random_uuid(), created_at = updated_at,
    sent_at = CASE WHEN status = 'sent' THEN updated_at END;
UPDATE worker_deliveries SET status = 'failed', last_error = COALESCE(last_error, 'interrupted')
WHERE status = 'sending';

CREATE UNIQUE INDEX worker_deliveries_id ON worker_deliveries (id);
CREATE INDEX worker_deliveries_due ON worker_deliveries (next_attempt_at) WHERE status IN ('pending', 'retrying');
CREATE INDEX worker_deliveries_user ON worker_deliveries (user_id, created_at);
