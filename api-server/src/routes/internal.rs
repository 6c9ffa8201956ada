//! Internal routes for the workers, reached through Dapr service invocation
//! (`/v1.0/invoke/todo-api/method/internal/v1/...`): they change API-owned data on a worker's behalf
//! (DESIGN §5: workers never write the API's tables). Not part of the public OpenAPI document and not
//! exposed by the ingress; a request must come through a Dapr sidecar (`dapr-caller-app-id`) and, when
//! Dapr's app API token is configured (`APP_API_TOKEN`), carry it in `dapr-api-token`.

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use jiff::Timestamp;
use std::sync::Arc;
use todo_contract::internal;
use todo_core::model::NextOccurrence;
use uuid::Uuid;

/// Dapr sets this header on every service-invocation request it forwards to the app.
pub const CALLER_APP_ID_HEADER: &str = todo_contract::header::CALLER_APP_ID;
/// Dapr sends the app API token (`APP_API_TOKEN` in the app's environment) in this header.
pub const APP_TOKEN_HEADER: &str = todo_contract::header::APP_TOKEN;
/// How many due reminders one `fire-reminders` call fires at most (the cron binding calls again soon).
const FIRE_BATCH: u32 = 500;

/// The internal routes, guarded by the token from the `APP_API_TOKEN` environment variable (Dapr's name).
pub fn router() -> Router<AppState> {
    router_with_token(
        std::env::var(todo_contract::env::APP_API_TOKEN)
            .ok()
            .filter(|t| !t.is_empty()),
    )
}

/// The internal routes; when `app_token` is set, callers must present it.
pub fn router_with_token(app_token: Option<String>) -> Router<AppState> {
    let app_token = Arc::new(app_token);
    Router::new()
        .route(internal::NEXT_OCCURRENCE, post(next_occurrence))
        .route(internal::FIRE_REMINDERS, post(fire_reminders))
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let app_token = app_token.clone();
                async move { require_dapr_caller(app_token.as_deref(), req, next).await }
            },
        ))
}

async fn require_dapr_caller(
    app_token: Option<&str>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let caller = req
        .headers()
        .get(CALLER_APP_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty());
    if caller.is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "internal routes are only reachable through Dapr service invocation",
        ));
    }
    if let Some(expected) = app_token {
        let presented = req
            .headers()
            .get(APP_TOKEN_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !constant_time_eq(presented, expected.as_bytes()) {
            return Err(ApiError::unauthorized("missing or wrong dapr-api-token"));
        }
    }
    Ok(next.run(req).await)
}

/// Compare without an early exit, so response timing does not reveal how much of a token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The contract's body, with UUIDs.
pub type NextOccurrenceRequest = internal::NextOccurrenceRequest<Uuid>;

/// Create the occurrence after a completed one (idempotent: a repeat returns the existing one).
async fn next_occurrence(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<NextOccurrenceRequest>,
) -> ApiResult<Json<NextOccurrence>> {
    let owner = s.store.owner(req.user_id).await?;
    Ok(Json(
        s.store
            .create_next_occurrence(&owner, req.task_id, Timestamp::now())
            .await?,
    ))
}

/// Fire due reminders into the outbox; answers `{"fired": n}`.
async fn fire_reminders(
    State(s): State<AppState>,
) -> ApiResult<Json<internal::FireRemindersResponse>> {
    let fired = s
        .store
        .fire_due_reminders(Timestamp::now(), FIRE_BATCH)
        .await?;
    Ok(Json(internal::FireRemindersResponse { fired: fired.len() }))
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    /// Tokens match only when equal in full.
    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"secret"));
    }
}
