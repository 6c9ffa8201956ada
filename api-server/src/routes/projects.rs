use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::CommonErrors;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use todo_core::model::{
    Project, ProjectDeleteParams, ProjectInput, ProjectListParams, ProjectPatch,
};
use uuid::Uuid;

/// Your projects: the Inbox first, then in your order, each with its task counts. Archived ones only with
/// `archived=true`.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(ProjectListParams),
    responses((status = 200, body = Vec<Project>), CommonErrors), security(("bearer" = [])))]
pub async fn list_projects(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiQuery(params): ApiQuery<ProjectListParams>,
) -> ApiResult<Json<Vec<Project>>> {
    let archived = params.archived.unwrap_or(false);
    Ok(Json(s.store.list_projects(&owner, archived).await?))
}

/// Create a project, last in your order; names are unique per user, case-insensitively.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = ProjectInput,
    responses((status = 201, body = Project), (status = 409, description = "Name taken (`project_exists`)", body = ErrorBody),
        CommonErrors), security(("bearer" = [])))]
pub async fn create_project(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiJson(input): ApiJson<ProjectInput>,
) -> ApiResult<(StatusCode, Json<Project>)> {
    let project = s
        .store
        .create_project(&owner, input, Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(project)))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = Uuid, Path)),
    responses((status = 200, body = Project), CommonErrors), security(("bearer" = [])))]
pub async fn get_project(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Project>> {
    Ok(Json(s.store.get_project(&owner, id).await?))
}

/// Rename, recolour, move in your order (`position`), archive or restore. The Inbox stays first and cannot
/// be archived (422 `inbox_protected`).
#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = Uuid, Path)), request_body = ProjectPatch,
    responses((status = 200, body = Project), (status = 409, description = "Name taken (`project_exists`)", body = ErrorBody),
        CommonErrors), security(("bearer" = [])))]
pub async fn update_project(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<ProjectPatch>,
) -> ApiResult<Json<Project>> {
    let project = s
        .store
        .update_project(&owner, id, patch, Timestamp::now())
        .await?;
    Ok(Json(project))
}

/// Delete a project. Its tasks move to the Inbox (`tasks=move`, the default) or are deleted with it
/// (`tasks=delete`). The Inbox cannot be deleted (409 `inbox_protected`).
#[utoipa::path(delete, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = Uuid, Path), ProjectDeleteParams),
    responses((status = 204, description = "Deleted"), (status = 409, description = "The Inbox (`inbox_protected`)", body = ErrorBody),
        CommonErrors), security(("bearer" = [])))]
pub async fn delete_project(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<ProjectDeleteParams>,
) -> ApiResult<StatusCode> {
    let tasks = params.tasks.unwrap_or_default();
    s.store
        .delete_project(&owner, id, tasks, Timestamp::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
