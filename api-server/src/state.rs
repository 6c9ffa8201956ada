//! Shared handler state.

use crate::auth::TokenKeys;
use crate::config::Config;
use crate::live::LiveHub;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use todo_core::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub tokens: Arc<TokenKeys>,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    /// Per-user live task updates for Server-Sent Events.
    pub live: LiveHub,
}
