//! todo-operator: reconciles a `TodoPlatform` custom resource into a complete event-driven todo
//! platform (API, workers, Dapr wiring, topics, managed dev dependencies).
//!
//! Layout: [`crd`] holds the resource types, [`build`] the pure desired-state builders,
//! [`render`] the offline rendering used by `todo-operator render`, [`controller`] the
//! reconciler (with [`status`] computing conditions purely), [`topics`] the Kafka admin-protocol
//! provisioner, [`lease`] leader election, [`http`] and [`metrics`] the operator's endpoints.
#![forbid(unsafe_code)]

pub mod build;
pub mod controller;
pub mod crd;
pub mod http;
pub mod lease;
pub mod metrics;
pub mod names;
pub mod render;
pub mod status;
pub mod topics;

/// The operator's version; the default app version of platforms that pin none.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
