use crate::auth::{Auth, TokenResponse, hash_password, verify_password};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::routes::CommonErrors;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use todo_core::domain::task::{validate_email, validate_password};
use todo_core::model::{LoginInput, ProfilePatch, SignupInput, User};

/// Create an account and get a token.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "accounts", request_body = SignupInput,
    responses((status = 201, body = TokenResponse), (status = 409, description = "Email taken", body = ErrorBody), CommonErrors))]
pub async fn signup(
    State(s): State<AppState>,
    ApiJson(input): ApiJson<SignupInput>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let email = validate_email(&input.email)?;
    validate_password(&input.password)?;
    if let Some(tz) = &input.time_zone {
        todo_core::domain::time_zone::parse_time_zone(tz, "time_zone")?;
    }
    let hash = hash_password(input.password).await?;
    let now = Timestamp::now();
    let owner = s
        .store
        .create_user(
            &email,
            &hash,
            input.display_name.as_deref(),
            input.time_zone.as_deref(),
            now,
        )
        .await?;
    let (token, expires_at) = s.tokens.issue(owner.id, now)?;
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            token,
            expires_at,
            user: owner.to_user(),
        }),
    ))
}

/// Exchange email and password for a token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = LoginInput,
    responses((status = 200, body = TokenResponse), CommonErrors))]
pub async fn login(
    State(s): State<AppState>,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<Json<TokenResponse>> {
    // Anything that cannot be a stored (validated) email cannot match one; don't send it to the database.
    let creds = match validate_email(&input.email) {
        Ok(email) => s.store.credentials(&email).await?,
        Err(_) => None,
    };
    let id = creds.as_ref().map(|c| c.id);
    if !verify_password(input.password, creds.map(|c| c.password_hash)).await {
        return Err(ApiError::unauthorized("wrong email or password"));
    }
    let owner = s
        .store
        .owner(id.ok_or_else(|| ApiError::unauthorized("wrong email or password"))?)
        .await?;
    let (token, expires_at) = s.tokens.issue(owner.id, Timestamp::now())?;
    Ok(Json(TokenResponse {
        token,
        expires_at,
        user: owner.to_user(),
    }))
}

/// Your profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = User), CommonErrors), security(("bearer" = [])))]
pub async fn me(Auth(owner): Auth) -> Json<User> {
    Json(owner.to_user())
}

/// Update display name and/or time zone.
#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts", request_body = ProfilePatch,
    responses((status = 200, body = User), CommonErrors), security(("bearer" = [])))]
pub async fn update_me(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        s.store
            .update_profile(&owner, patch, Timestamp::now())
            .await?
            .to_user(),
    ))
}
