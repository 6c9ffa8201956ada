-- Personal webhooks: a reminder firing goes to each of its user's enabled webhooks, so there is no longer
-- one delivery per (event, channel). webhook_id names the personal webhook a delivery goes to (NULL: the
-- email, or the platform's webhook); a delivery is identified by its id, and recording an event again
-- still writes each of its deliveries once (the two partial unique indexes).
ALTER TABLE worker_deliveries ADD COLUMN webhook_id uuid;
ALTER TABLE worker_deliveries DROP CONSTRAINT worker_deliveries_pkey;
DROP INDEX worker_deliveries_id;
ALTER TABLE worker_deliveries ALTER COLUMN id SET NOT NULL;
ALTER TABLE worker_deliveries ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX worker_deliveries_channel ON worker_deliveries (event_id, channel) WHERE webhook_id IS NULL;
CREATE UNIQUE INDEX worker_deliveries_webhook ON worker_deliveries (event_id, webhook_id) WHERE webhook_id IS NOT NULL;
-- Each webhook's delivery status (counts, the latest) is read by webhook.
CREATE INDEX worker_deliveries_by_webhook ON worker_deliveries (webhook_id, updated_at) WHERE webhook_id IS NOT NULL;
