use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::CommonErrors;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use todo_core::model::{Tag, TagInput, TagPatch};
use uuid::Uuid;

/// Your tags, by name, with how many tasks carry each.
#[utoipa::path(get, path = "/api/v1/tags", tag = "tags", responses((status = 200, body = Vec<Tag>), CommonErrors), security(("bearer" = [])))]
pub async fn list_tags(State(s): State<AppState>, Auth(owner): Auth) -> ApiResult<Json<Vec<Tag>>> {
    Ok(Json(s.store.list_tags(&owner).await?))
}

/// Create a tag; names are unique per user, case-insensitively.
#[utoipa::path(post, path = "/api/v1/tags", tag = "tags", request_body = TagInput,
    responses((status = 201, body = Tag), (status = 409, description = "Name taken", body = ErrorBody), CommonErrors), security(("bearer" = [])))]
pub async fn create_tag(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiJson(input): ApiJson<TagInput>,
) -> ApiResult<(StatusCode, Json<Tag>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_tag(&owner, input, Timestamp::now()).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/tags/{id}", tag = "tags", params(("id" = Uuid, Path)),
    responses((status = 200, body = Tag), CommonErrors), security(("bearer" = [])))]
pub async fn get_tag(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Tag>> {
    Ok(Json(s.store.get_tag(&owner, id).await?))
}

/// Rename and/or recolour.
#[utoipa::path(patch, path = "/api/v1/tags/{id}", tag = "tags", params(("id" = Uuid, Path)), request_body = TagPatch,
    responses((status = 200, body = Tag), (status = 409, description = "Name taken", body = ErrorBody), CommonErrors), security(("bearer" = [])))]
pub async fn update_tag(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<TagPatch>,
) -> ApiResult<Json<Tag>> {
    Ok(Json(
        s.store
            .update_tag(&owner, id, patch, Timestamp::now())
            .await?,
    ))
}

/// Delete a tag. Tasks keep existing; the tag is detached from them.
#[utoipa::path(delete, path = "/api/v1/tags/{id}", tag = "tags", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), CommonErrors), security(("bearer" = [])))]
pub async fn delete_tag(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    s.store.delete_tag(&owner, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
