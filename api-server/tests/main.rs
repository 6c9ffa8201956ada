//! The API's integration tests, in one binary (each module was a binary of its own: seven links of the
//! whole API and its dependencies for every change, the largest part of a CI build's time and disk).

#[macro_use]
mod common;
#[path = "../../tests/pipeline/otlp.rs"]
mod otlp;
#[path = "../../workers/tests/support/mod.rs"]
mod support;

mod calendar;
mod configuration;
mod events_internal;
mod http;
mod mcp;
mod notification_settings;
mod notifications;
mod openapi;
mod projects;
mod quick_add;
mod recurrence;
mod schemathesis;
mod sessions;
mod subtasks;
mod tokens;
mod traces;
mod ui_e2e;
mod views;
