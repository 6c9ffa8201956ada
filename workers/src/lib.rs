//! TodoPlatform's event machinery and worker roles.
//!
//! - `relay`: the transactional outbox's publisher (runs in `todo-api`).
//! - `bus` / `dapr` / `publish`: the in-process bus (dev mode) and the Dapr sidecar client (Kubernetes).
//! - `roles`: the consumers — recurrence, reminders, notifier, audit — each usable over either transport.
//! - `deliveries`: the notifier's record of each reminder per channel, which it retries from and the API reads.
//! - `http`: the worker's Dapr subscriber endpoints; `embedded`: all roles inside `todo-api` (dev mode).
#![forbid(unsafe_code)]

pub mod api_client;
pub mod bus;
pub mod config;
pub mod dapr;
pub mod deliveries;
pub mod embedded;
pub mod http;
pub mod process;
pub mod publish;
pub mod relay;
pub mod roles;
pub mod storage;
