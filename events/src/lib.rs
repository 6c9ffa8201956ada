//! TodoPlatform's event machinery, used by `todo-api` (which publishes) and `todo-worker` (which consumes):
//!
//! - `relay`: the transactional outbox's publisher.
//! - `bus`: the in-process bus of dev mode, with the retry and dead-letter semantics of Dapr's.
//! - `dapr`: the client of the Dapr sidecar's HTTP API (publish, bulk publish, service invocation).
//! - `publish`: one `Publisher` over either transport, so the relay does not know which it runs on.
//! - `trace`: W3C trace context from the writing request through the outbox to each consumer.
#![forbid(unsafe_code)]

pub mod bus;
pub mod dapr;
pub mod publish;
pub mod relay;
pub mod trace;
