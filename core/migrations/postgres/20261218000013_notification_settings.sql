-- Per-user notification settings. No row means the defaults: reminders are emailed, to the account's
-- address. A NULL email_address follows the account's email (a changed account email is used from then on).
-- The row is also what serialises a user's webhook creations, so the per-user limit holds under races.
CREATE TABLE notification_settings (
    user_id       uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email_enabled boolean NOT NULL DEFAULT true,
    email_address text,
    updated_at    bigint NOT NULL
);

-- Personal webhooks: the notifier POSTs each of the user's due reminders to every enabled one, signed with
-- its own secret. The secret is kept as it was generated, not hashed (unlike access tokens and calendar
-- feeds): signing a delivery (HMAC) needs the key itself. It is returned only when created or rotated.
-- The last test send's outcome is kept with the webhook (the API writes it); reminder deliveries are the
-- notifier's, in worker_deliveries.
CREATE TABLE webhooks (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name             text NOT NULL,
    url              text NOT NULL,
    secret           text NOT NULL,
    enabled          boolean NOT NULL DEFAULT true,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL,
    last_test_at     bigint,
    last_test_status integer,
    last_test_error  text
);
CREATE INDEX webhooks_user_idx ON webhooks (user_id, created_at);
