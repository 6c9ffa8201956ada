//! Accounts: argon2id password hashes, HS256 JWT bearer tokens with expiry (login sessions), and the
//! extractors that accept either a session or a personal access token as `Authorization: Bearer`.

use crate::error::ApiError;
use crate::state::AppState;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use todo_core::store::{Owner, TOKEN_PREFIX, TokenCheck, TokenScope};
use uuid::Uuid;

const ISSUER: &str = "todoplatform";

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub ttl_minutes: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    iat: i64,
    exp: i64,
    iss: String,
    /// The account's session epoch when issued (sessions issued before epochs existed read 0).
    #[serde(default)]
    sev: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    pub user: todo_core::model::User,
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl_minutes: i64) -> TokenKeys {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_minutes,
        }
    }

    /// A session for `owner`, in their current session epoch.
    pub fn issue(&self, owner: &Owner, now: Timestamp) -> Result<(String, Timestamp), ApiError> {
        let exp = now.as_second() + self.ttl_minutes * 60;
        let claims = Claims {
            sub: owner.id,
            iat: now.as_second(),
            exp,
            iss: ISSUER.into(),
            sev: owner.session_epoch,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| {
            tracing::error!(error = %e, "token signing failed");
            ApiError::internal()
        })?;
        Ok((token, Timestamp::from_second(exp).unwrap_or(Timestamp::MAX)))
    }

    /// The session's account and session epoch.
    pub fn verify(&self, token: &str) -> Result<(Uuid, i64), ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|d| (d.claims.sub, d.claims.sev))
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => {
                        ApiError::unauthorized("token expired; log in again")
                    }
                    _ => ApiError::unauthorized("invalid token"),
                }
            })
    }
}

/// Hash on a blocking thread: argon2id is deliberately slow and would stall the async workers.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|_| ApiError::internal())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| ApiError::internal())
    })
    .await
    .map_err(|_| ApiError::internal())?
}

/// A hash of a random password, verified against when the email is unknown so that "no such user" and
/// "wrong password" take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::encode_b64(&[7u8; 16]).expect("fixed salt encodes");
    Argon2::default()
        .hash_password(b"not-a-real-password", &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let ok = PasswordHash::new(&hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        });
        ok && known
    })
    .await
    .unwrap_or(false)
}

/// What a request authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A login session's JWT.
    Session,
    /// A personal access token, with its scope.
    Token(TokenScope),
}

impl Credential {
    pub fn may_write(self) -> bool {
        match self {
            Credential::Session => true,
            Credential::Token(scope) => scope.may_write(),
        }
    }
}

/// A read-only access token asked for a change.
pub fn read_only_token() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "read_only_token",
        "this access token's scope is read; use a read-write token for changes",
    )
}

/// The authenticated caller, with their profile as it is now. Every handler that takes `Auth` is scoped
/// to this user. A read-only access token passes only on GET and HEAD.
pub struct Auth(pub Owner);

/// The authenticated caller, with their profile as read up to `todo_core::store::CALLER_TTL` ago
/// (`Store::caller`), which saves a lookup per request. Only for handlers whose reads may see a profile
/// change made through another replica that late (listing and search), or whose writes the store checks
/// against the current profile (task creation). Scoped like `Auth`.
pub struct RecentAuth(pub Owner);

/// The caller of a POST that only computes and writes nothing (reading a quick-add line, previewing a
/// recurrence rule), with their profile read as `RecentAuth` reads it: a read-only token may call it, as
/// it may the same tools over MCP.
pub struct ComputeAuth(pub Owner);

/// A caller with a login session: for managing access tokens, so that a leaked token cannot mint more
/// or hide itself. An access token gets 403 `session_required`.
pub struct SessionAuth(pub Owner);

/// The caller and their credential, whatever the method: for an endpoint that decides per operation
/// what a read-only token may do (MCP, where every call is a POST).
pub struct ScopedAuth(pub Owner, pub Credential);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = bearer_user(parts, state).await?;
        allow_method(&parts.method, caller.credential)?;
        caller.admit(state.store.owner(caller.user).await).map(Auth)
    }
}

impl FromRequestParts<AppState> for RecentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = bearer_user(parts, state).await?;
        allow_method(&parts.method, caller.credential)?;
        caller
            .admit(state.store.caller(caller.user).await)
            .map(RecentAuth)
    }
}

impl FromRequestParts<AppState> for ComputeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = bearer_user(parts, state).await?;
        caller
            .admit(state.store.caller(caller.user).await)
            .map(ComputeAuth)
    }
}

impl FromRequestParts<AppState> for SessionAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = bearer_user(parts, state).await?;
        if caller.credential != Credential::Session {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "session_required",
                "access tokens are managed with a login session, not with an access token",
            ));
        }
        caller
            .admit(state.store.owner(caller.user).await)
            .map(SessionAuth)
    }
}

impl FromRequestParts<AppState> for ScopedAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = bearer_user(parts, state).await?;
        let credential = caller.credential;
        caller
            .admit(state.store.owner(caller.user).await)
            .map(|owner| ScopedAuth(owner, credential))
    }
}

fn allow_method(method: &Method, credential: Credential) -> Result<(), ApiError> {
    if credential.may_write() || method == Method::GET || method == Method::HEAD {
        Ok(())
    } else {
        Err(read_only_token())
    }
}

fn account(found: Result<Owner, todo_core::StoreError>) -> Result<Owner, ApiError> {
    match found {
        Ok(owner) => Ok(owner),
        Err(todo_core::StoreError::NotFound(_)) => {
            Err(ApiError::unauthorized("account no longer exists"))
        }
        Err(e) => Err(e.into()),
    }
}

/// The user a request's bearer token names, and what the token is, once it verifies.
async fn bearer_user(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::unauthorized("Authorization must be a Bearer token"))?;
    authenticate(state, token).await
}

/// Who a verified bearer token speaks for; [`Caller::admit`] checks it against the account.
pub struct Caller {
    pub user: Uuid,
    pub credential: Credential,
    /// A login session's epoch (`None` for an access token).
    session_epoch: Option<i64>,
}

impl Caller {
    /// The account, if it still exists and, for a login session, the session has not been ended since it
    /// was issued (logged out everywhere, password changed). A profile read from the caller cache may be
    /// up to `todo_core::store::CALLER_TTL` old, so an ended session can last that long on `RecentAuth`
    /// routes.
    pub fn admit(&self, found: Result<Owner, todo_core::StoreError>) -> Result<Owner, ApiError> {
        let owner = account(found)?;
        match self.session_epoch {
            Some(epoch) if epoch != owner.session_epoch => Err(ApiError::unauthorized(
                "this session has ended (logged out everywhere or the password changed); log in again",
            )),
            _ => Ok(owner),
        }
    }
}

/// Verify a bearer token: an access token (by its prefix) against the store, anything else as a login
/// session's JWT.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let token = token.trim();
    if !token.starts_with(TOKEN_PREFIX) {
        return state.tokens.verify(token).map(|(user, epoch)| Caller {
            user,
            credential: Credential::Session,
            session_epoch: Some(epoch),
        });
    }
    match state
        .store
        .check_access_token(token, Timestamp::now())
        .await?
    {
        TokenCheck::Valid(grant) => Ok(Caller {
            user: grant.user_id,
            credential: Credential::Token(grant.scope),
            session_epoch: None,
        }),
        TokenCheck::Expired => Err(ApiError::unauthorized("access token expired")),
        TokenCheck::Unknown => Err(ApiError::unauthorized("invalid or revoked access token")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token verifies with its key (giving its account and session epoch), not with another, and not
    /// after it expires.
    #[test]
    fn tokens_verify_and_expire() {
        let keys = TokenKeys::new(b"secret-one", 60);
        let user = Owner {
            id: Uuid::now_v7(),
            email: "ada@example.com".into(),
            display_name: String::new(),
            time_zone: "UTC".into(),
            tz: jiff::tz::TimeZone::UTC,
            created_at: Timestamp::UNIX_EPOCH,
            session_epoch: 3,
        };
        let (token, _) = keys.issue(&user, Timestamp::now()).unwrap();
        assert_eq!(keys.verify(&token).unwrap(), (user.id, 3));
        assert!(TokenKeys::new(b"secret-two", 60).verify(&token).is_err());
        let old = Timestamp::now() - jiff::SignedDuration::from_hours(2);
        let (expired, _) = keys.issue(&user, old).unwrap();
        assert_eq!(
            keys.verify(&expired).unwrap_err().message,
            "token expired; log in again"
        );
    }

    /// Passwords verify against their argon2id hash only.
    #[tokio::test]
    async fn password_hashing() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(hash.clone())).await);
        assert!(!verify_password("wrong horse".into(), Some(hash)).await);
        assert!(
            !verify_password("not-a-real-password".into(), None).await,
            "unknown users never verify"
        );
    }
}
