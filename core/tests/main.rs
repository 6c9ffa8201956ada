//! The store's integration tests, in one binary: every behaviour on SQLite and PostgreSQL (`store`), and
//! PostgreSQL's concurrent tag changes (`tag_races`).

mod calendar_feeds;
mod login_failures;
mod notification_settings;
mod store;
mod tag_races;
