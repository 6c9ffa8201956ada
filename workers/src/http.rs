//! The worker's HTTP surface: health, metrics, and Dapr's subscriber contract — declarative
//! Subscriptions deliver to `/events/<topic>`, the cron binding calls `POST /<binding-name>`.

use crate::api_client::ApiClient;
use crate::roles::notifier::Notifier;
use crate::roles::{Role, audit, recurrence, reminders};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use std::collections::HashSet;
use std::sync::Arc;
use todo_core::Store;
use todo_core::events::{CloudEvent, topic};
use todo_events::bus::Outcome;
use todo_events::dapr::SubscriberReply;
use todo_events::trace;
use tracing::Instrument;

#[derive(Clone)]
pub struct WorkerState {
    pub roles: Arc<HashSet<Role>>,
    pub store: Store,
    pub api: ApiClient,
    pub notifier: Option<Notifier>,
    pub metrics: PrometheusHandle,
}

pub fn router(state: WorkerState, reminder_binding: &str) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route(
            "/metrics",
            get(|State(s): State<WorkerState>| async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    s.metrics.render(),
                )
            }),
        )
        .route(todo_contract::route::TASK_EVENTS, post(task_events))
        .route(todo_contract::route::REMINDERS, post(reminder_events))
        .route(
            &format!("/{}", reminder_binding.trim_start_matches('/')),
            post(cron),
        )
        .with_state(state)
}

async fn ready(State(s): State<WorkerState>) -> impl IntoResponse {
    match s.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}

fn reply(outcome: Outcome) -> (StatusCode, Json<SubscriberReply>) {
    match outcome {
        Outcome::Success => (StatusCode::OK, Json(SubscriberReply::success())),
        Outcome::Drop(why) => {
            tracing::warn!(reason = %why, "dropping event");
            (StatusCode::OK, Json(SubscriberReply::drop()))
        }
        Outcome::Retry(why) => {
            tracing::warn!(reason = %why, "event will be retried");
            (StatusCode::OK, Json(SubscriberReply::retry()))
        }
    }
}

fn parse(body: &[u8]) -> Result<CloudEvent, Outcome> {
    serde_json::from_slice(body).map_err(|e| Outcome::Drop(format!("not a CloudEvent: {e}")))
}

/// Combine outcomes of several roles sharing one subscription: any retry wins (the others are idempotent).
fn combine(outcomes: Vec<Outcome>) -> Outcome {
    outcomes
        .iter()
        .find(|o| matches!(o, Outcome::Retry(_)))
        .or_else(|| outcomes.iter().find(|o| matches!(o, Outcome::Drop(_))))
        .cloned()
        .unwrap_or(Outcome::Success)
}

async fn task_events(
    State(s): State<WorkerState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<SubscriberReply>) {
    let event = match parse(&body) {
        Ok(e) => e,
        Err(o) => return reply(o),
    };
    let delivery = trace::from_headers(&headers);
    let span = |role: Role| {
        trace::consumer_span(role.name(), topic::TASK_EVENTS, &event, delivery.clone())
    };
    let mut outcomes = Vec::new();
    if s.roles.contains(&Role::Recurrence) {
        let outcome = recurrence::handle(&s.api, &event)
            .instrument(span(Role::Recurrence))
            .await;
        crate::metrics::handled(Role::Recurrence.name(), &event, &outcome);
        outcomes.push(outcome);
    }
    if s.roles.contains(&Role::Audit) {
        let outcome = audit::handle(&s.store, &event)
            .instrument(span(Role::Audit))
            .await;
        crate::metrics::handled(Role::Audit.name(), &event, &outcome);
        outcomes.push(outcome);
    }
    reply(combine(outcomes))
}

async fn reminder_events(
    State(s): State<WorkerState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<SubscriberReply>) {
    let event = match parse(&body) {
        Ok(e) => e,
        Err(o) => return reply(o),
    };
    match &s.notifier {
        Some(n) if s.roles.contains(&Role::Notifier) => {
            let span = trace::consumer_span(
                Role::Notifier.name(),
                topic::REMINDERS,
                &event,
                trace::from_headers(&headers),
            );
            let outcome = n.handle(&event).instrument(span).await;
            crate::metrics::handled(Role::Notifier.name(), &event, &outcome);
            reply(outcome)
        }
        _ => reply(Outcome::Success),
    }
}

/// The cron binding: a non-2xx answer tells Dapr the invocation failed. The scan's span continues the
/// binding's trace and reaches the API, whose reminder events carry it on to the notifier.
async fn cron(State(s): State<WorkerState>, headers: HeaderMap) -> StatusCode {
    if !s.roles.contains(&Role::Reminders) {
        return StatusCode::NOT_FOUND;
    }
    let span = if trace::enabled() {
        let span = tracing::info_span!("reminder scan", otel.kind = "consumer");
        if let Some(parent) = trace::from_headers(&headers) {
            trace::set_parent(&span, &parent);
        }
        span
    } else {
        tracing::Span::none()
    };
    match reminders::tick(&s.api).instrument(span).await {
        Outcome::Success => StatusCode::OK,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
