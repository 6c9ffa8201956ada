use crate::auth::{Auth, SessionAuth, TokenResponse, hash_password, verify_password};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::limit::{self, ClientAddress};
use crate::routes::CommonErrors;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use todo_core::domain::task::{validate_email, validate_password};
use todo_core::model::{LoginInput, PasswordChange, ProfilePatch, SignupInput, User};

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
    let (token, expires_at) = s.tokens.issue(&owner, now)?;
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            token,
            expires_at,
            user: owner.to_user(),
        }),
    ))
}

/// Exchange email and password for a token. After 5 failed attempts for an account, or 20 from one
/// address, within 15 minutes, attempts are refused with 429 `too_many_attempts` and `Retry-After`.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = LoginInput,
    responses((status = 200, body = TokenResponse),
        (status = 429, description = "Too many failed attempts (`too_many_attempts`); see Retry-After", body = ErrorBody),
        CommonErrors))]
pub async fn login(
    State(s): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<Json<TokenResponse>> {
    if let Some(wait) = limit::check(&s.store, &input.email, address, Timestamp::now()).await? {
        return Err(ApiError::too_many_attempts(
            "too many failed logins; wait before trying again",
            wait,
        ));
    }
    // Anything that cannot be a stored (validated) email cannot match one; don't send it to the database.
    let creds = match validate_email(&input.email) {
        Ok(email) => s.store.credentials(&email).await?,
        Err(_) => None,
    };
    let id = creds.as_ref().map(|c| c.id);
    if !verify_password(input.password, creds.map(|c| c.password_hash)).await {
        limit::failed(&s.store, &input.email, address, Timestamp::now()).await?;
        return Err(ApiError::unauthorized("wrong email or password"));
    }
    limit::succeeded(&s.store, &input.email).await?;
    let owner = s
        .store
        .owner(id.ok_or_else(|| ApiError::unauthorized("wrong email or password"))?)
        .await?;
    let (token, expires_at) = s.tokens.issue(&owner, Timestamp::now())?;
    Ok(Json(TokenResponse {
        token,
        expires_at,
        user: owner.to_user(),
    }))
}

/// End every login session of your account, on every device, and get a new one for this device. Access
/// tokens stay (revoke them one by one). Needs a login session.
#[utoipa::path(post, path = "/api/v1/auth/logout-everywhere", tag = "accounts",
    responses((status = 200, body = TokenResponse), CommonErrors), security(("bearer" = [])))]
pub async fn logout_everywhere(
    State(s): State<AppState>,
    SessionAuth(owner): SessionAuth,
) -> ApiResult<Json<TokenResponse>> {
    let now = Timestamp::now();
    let owner = s.store.end_sessions(&owner, None, now).await?;
    let (token, expires_at) = s.tokens.issue(&owner, now)?;
    Ok(Json(TokenResponse {
        token,
        expires_at,
        user: owner.to_user(),
    }))
}

/// Change your password: every login session ends (on every device) and this device gets a new one. A
/// wrong current password is a 422 `wrong_password` and counts as a failed login. Needs a login session.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "accounts", request_body = PasswordChange,
    responses((status = 200, body = TokenResponse),
        (status = 429, description = "Too many failed attempts (`too_many_attempts`); see Retry-After", body = ErrorBody),
        CommonErrors), security(("bearer" = [])))]
pub async fn change_password(
    State(s): State<AppState>,
    SessionAuth(owner): SessionAuth,
    ClientAddress(address): ClientAddress,
    ApiJson(input): ApiJson<PasswordChange>,
) -> ApiResult<Json<TokenResponse>> {
    if let Some(wait) = limit::check(&s.store, &owner.email, address, Timestamp::now()).await? {
        return Err(ApiError::too_many_attempts(
            "too many failed attempts; wait before trying again",
            wait,
        ));
    }
    validate_password(&input.new_password).map_err(|e| ApiError::from(e).field("new_password"))?;
    let stored = s.store.password_hash(owner.id).await?;
    if !verify_password(input.current_password, Some(stored)).await {
        limit::failed(&s.store, &owner.email, address, Timestamp::now()).await?;
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_password",
            "the current password is wrong",
        )
        .field("current_password"));
    }
    let hash = hash_password(input.new_password).await?;
    let now = Timestamp::now();
    let owner = s.store.end_sessions(&owner, Some(&hash), now).await?;
    let (token, expires_at) = s.tokens.issue(&owner, now)?;
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
