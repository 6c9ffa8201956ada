//! `todo-api`: the HTTP API, the outbox relay, and (in dev mode) every worker role in-process.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod limit;
pub mod live;
pub mod metrics;
pub mod routes;
pub mod server;
pub mod state;
pub mod ui;
