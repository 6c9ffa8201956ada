use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

/// Liveness: the process serves requests.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
pub async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    match s.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// Prometheus text exposition, with pool gauges sampled at scrape time.
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let (open, idle) = s.store.pool_usage();
    metrics::gauge!("db_pool_connections").set(f64::from(open));
    metrics::gauge!("db_pool_idle_connections").set(idle as f64);
    metrics::gauge!("db_pool_max_connections").set(f64::from(s.config.db_max_connections));
    if let Ok(backlog) = s.store.outbox_backlog().await {
        metrics::gauge!("outbox_pending_events").set(backlog.pending as f64);
        let age = backlog
            .oldest_created_ms
            .map(|c| (jiff::Timestamp::now().as_millisecond() - c).max(0) as f64 / 1000.0);
        metrics::gauge!("outbox_oldest_pending_age_seconds").set(age.unwrap_or(0.0));
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
}
