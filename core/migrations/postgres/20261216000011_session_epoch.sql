-- Login sessions (JWTs) carry the epoch their account had when they were issued; logging out everywhere
-- or changing the password moves it on, and every session issued before stops working.
ALTER TABLE users ADD COLUMN session_epoch bigint NOT NULL DEFAULT 0;
