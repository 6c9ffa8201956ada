//! Personal access tokens: created, listed and revoked with a login session (`SessionAuth`), so a leaked
//! token can neither mint more nor revoke the others. The secret appears only in the creation's answer.

use crate::auth::SessionAuth;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::CommonErrors;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use todo_core::store::{AccessToken, AccessTokenInput, CreatedAccessToken};
use uuid::Uuid;

/// Create a personal access token for scripts and MCP clients; use it as `Authorization: Bearer
/// <secret>`. The answer holds the secret, shown only this once. Needs a login session.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = AccessTokenInput,
    responses((status = 201, body = CreatedAccessToken), CommonErrors), security(("bearer" = [])))]
pub async fn create_token(
    State(s): State<AppState>,
    SessionAuth(owner): SessionAuth,
    ApiJson(input): ApiJson<AccessTokenInput>,
) -> ApiResult<(StatusCode, Json<CreatedAccessToken>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.store
                .create_access_token(&owner, input, Timestamp::now())
                .await?,
        ),
    ))
}

/// Your access tokens, oldest first, without their secrets. Needs a login session.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<AccessToken>), CommonErrors), security(("bearer" = [])))]
pub async fn list_tokens(
    State(s): State<AppState>,
    SessionAuth(owner): SessionAuth,
) -> ApiResult<Json<Vec<AccessToken>>> {
    Ok(Json(s.store.list_access_tokens(&owner).await?))
}

/// Revoke an access token: it stops working at once (on other replicas within 5 seconds). Needs a
/// login session.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Revoked"), CommonErrors), security(("bearer" = [])))]
pub async fn revoke_token(
    State(s): State<AppState>,
    SessionAuth(owner): SessionAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    s.store.revoke_access_token(&owner, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
