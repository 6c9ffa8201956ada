//! TodoPlatform's worker roles.
//!
//! - `roles`: the consumers — recurrence, reminders, notifier, audit — each usable over either transport.
//! - `deliveries`: the notifier's record of each reminder per channel, which it retries from and the API reads.
//! - `http`: the worker's Dapr subscriber endpoints; `embedded`: all roles inside `todo-api` (dev mode).
//! - `webhook`: signing, and the client for users' webhooks that refuses private addresses.
//! - `metrics`: the roles' metrics, the same in both hosts.
//!
//! The event machinery both binaries share (relay, in-process bus, Dapr client) is `todo-events`.
#![forbid(unsafe_code)]

pub mod api_client;
pub mod config;
pub mod deliveries;
pub mod embedded;
pub mod http;
pub mod metrics;
pub mod process;
pub mod roles;
pub mod storage;
pub mod webhook;
