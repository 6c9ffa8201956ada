//! todo-operator: reconciles a `TodoPlatform` custom resource into a complete event-driven todo
//! platform (API, workers, Dapr wiring, topics, managed dev dependencies).
//!
//! Layout: [`crd`] holds the resource types, [`validation`] the admission rules shared by the
//! CRD's CEL and the controller, [`build`] the pure desired-state builders, [`render`] the
//! offline rendering used by `todo-operator render`, [`controller`] the reconciler (with
//! [`status`] computing conditions purely and [`drift`] spotting edited children), [`topics`]
//! the Kafka admin-protocol provisioner, [`lease`] leader election, [`http`] and [`metrics`] the
//! operator's endpoints.
#![forbid(unsafe_code)]

pub mod build;
pub mod controller;
pub mod crd;
pub mod drift;
pub mod http;
pub mod lease;
pub mod metrics;
pub mod names;
pub mod render;
pub mod status;
pub mod topics;
pub mod validation;

/// The operator's version; the default app version of platforms that pin none.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
