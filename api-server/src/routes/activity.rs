//! A task's history, recorded by the audit role from the task's events.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::routes::CommonErrors;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use todo_worker::roles::audit::{self, Activity};
use uuid::Uuid;

/// A task's history, oldest first: every created, updated, completed, reopened and deleted event. A
/// deleted task keeps its history; another user's task is indistinguishable from a missing one (404).
#[utoipa::path(get, path = "/api/v1/tasks/{id}/activity", tag = "tasks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Activity>), CommonErrors), security(("bearer" = [])))]
pub async fn task_activity(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<Activity>>> {
    let history = audit::history(&s.store, owner.id, id)
        .await
        .map_err(|e| ApiError::from(todo_core::StoreError::Database(e)))?;
    if history.is_empty() {
        // No history yet (the audit role has not caught up) is fine for an existing task of the caller's.
        s.store.get_task(&owner, id, Timestamp::now()).await?;
    }
    Ok(Json(history))
}
