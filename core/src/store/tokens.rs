//! Personal access tokens: long-lived credentials a user creates for scripts, MCP clients and the event
//! stream, each with a name, a scope and an optional expiry, revocable one by one.
//!
//! The secret is `tp_` and 32 random bytes (base64url). Only its SHA-256 is stored, and a token is found
//! by that hash. A fast unsalted hash is enough here, unlike for passwords: a secret of 256 random bits
//! cannot be guessed from its hash by trying candidates, so a slow, salted hash (argon2) would only make
//! every request slower; and an unsalted hash is what lets the lookup be one indexed equality.

use crate::error::{Invalid, StoreError, StoreResult};
use crate::store::dialect::{Dialect, query, query_as};
use crate::store::rows::Owner;
use crate::store::secrets::{new_secret, secret_hash, validate_name};
use crate::store::{Pool, Store, from_ms, ms};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use uuid::Uuid;

/// How every access token's secret begins, which tells it apart from a login session's JWT.
pub const TOKEN_PREFIX: &str = "tp_";

/// The longest expiry a token can be created with, in days.
pub const MAX_EXPIRY_DAYS: i64 = 365;

/// A token's use is recorded at most this often (milliseconds), so a busy script costs one write a
/// minute, not one per request.
const LAST_USED_EVERY_MS: i64 = 60_000;

pub(crate) use crate::store::secrets::SecretHash;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TokenScope {
    /// Reads only: GET and HEAD requests, and MCP tools that change nothing.
    Read,
    /// Everything the user can do, except managing access tokens.
    ReadWrite,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::ReadWrite => "read-write",
        }
    }

    pub fn may_write(self) -> bool {
        self == TokenScope::ReadWrite
    }

    fn parse(raw: &str) -> Option<TokenScope> {
        match raw {
            "read" => Some(TokenScope::Read),
            "read-write" => Some(TokenScope::ReadWrite),
            _ => None,
        }
    }
}

/// A token as listed: never its secret or the secret's hash.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct AccessToken {
    pub id: Uuid,
    pub name: String,
    pub scope: TokenScope,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When the token stops working; null: never.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// Its latest use, to the minute; null: never used.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessTokenInput {
    /// What the token is for; 1..=100 characters after trimming.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// `read` (GET and HEAD, and MCP tools that change nothing) or `read-write`.
    // Text checked by the store rather than by the JSON decoder, so a wrong scope is a 422 naming
    // `scope`, like every other invalid value.
    #[schema(value_type = TokenScope)]
    pub scope: String,
    /// Days until the token expires, 1..=365; absent or null: it never expires.
    #[schema(minimum = 1, maximum = 365)]
    pub expires_in_days: Option<i64>,
}

/// A token just created, with its secret: the only time the secret is shown.
// Deliberately not `Debug`, so the secret cannot reach a log through a `{:?}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedAccessToken {
    #[serde(flatten)]
    pub token: AccessToken,
    /// Send as `Authorization: Bearer <secret>`. Shown only in this response; store it now.
    pub secret: String,
}

/// What a presented secret turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    Valid(TokenGrant),
    Expired,
    /// No such token: never issued, or revoked.
    Unknown,
}

/// Whom a valid token acts for, and what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenGrant {
    pub token_id: Uuid,
    pub user_id: Uuid,
    pub scope: TokenScope,
}

/// A token as checked on each request (and remembered between requests, see `callers`).
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) token_id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) scope: TokenScope,
    pub(crate) expires_at: Option<Timestamp>,
    pub(crate) last_used_at: Option<Timestamp>,
}

/// A validated token to create.
struct NewToken {
    id: Uuid,
    name: String,
    scope: TokenScope,
    hash: SecretHash,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
}

impl Store {
    /// Create a token for `owner`; the answer carries its secret, which is not kept.
    pub async fn create_access_token(
        &self,
        owner: &Owner,
        input: AccessTokenInput,
        now: Timestamp,
    ) -> StoreResult<CreatedAccessToken> {
        let name = validate_name(&input.name)?;
        let scope = TokenScope::parse(&input.scope).ok_or_else(|| {
            Invalid::new(
                "invalid_scope",
                "scope",
                "scope must be \"read\" or \"read-write\"",
            )
        })?;
        let expires_at = match input.expires_in_days {
            None => None,
            Some(days) if (1..=MAX_EXPIRY_DAYS).contains(&days) => {
                Some(now + SignedDuration::from_hours(days * 24))
            }
            Some(_) => {
                return Err(Invalid::new(
                    "out_of_range",
                    "expires_in_days",
                    format!("expires_in_days must be 1..={MAX_EXPIRY_DAYS}, or absent for never"),
                )
                .into());
            }
        };
        let secret = new_secret(TOKEN_PREFIX);
        let token = NewToken {
            id: Uuid::now_v7(),
            name,
            scope,
            hash: secret_hash(&secret),
            created_at: now,
            expires_at,
        };
        match &self.pool {
            Pool::Postgres(p) => insert_token(p, owner.id, &token).await?,
            Pool::Sqlite(p) => insert_token(p, owner.id, &token).await?,
        }
        Ok(CreatedAccessToken {
            token: AccessToken {
                id: token.id,
                name: token.name,
                scope,
                created_at: now,
                expires_at,
                last_used_at: None,
            },
            secret,
        })
    }

    /// The owner's tokens, oldest first, expired ones included (until revoked).
    pub async fn list_access_tokens(&self, owner: &Owner) -> StoreResult<Vec<AccessToken>> {
        let rows = match &self.pool {
            Pool::Postgres(p) => list_tokens(p, owner.id).await?,
            Pool::Sqlite(p) => list_tokens(p, owner.id).await?,
        };
        Ok(rows
            .into_iter()
            .map(
                |(id, name, scope, created_at, expires_at, last_used_at)| AccessToken {
                    id,
                    name,
                    scope: stored_scope(&scope),
                    created_at: from_ms(created_at),
                    expires_at: expires_at.map(from_ms),
                    last_used_at: last_used_at.map(from_ms),
                },
            )
            .collect())
    }

    /// Revoke one of the owner's tokens; another user's is `NotFound`, like a missing one.
    pub async fn revoke_access_token(&self, owner: &Owner, id: Uuid) -> StoreResult<()> {
        let n = match &self.pool {
            Pool::Postgres(p) => delete_token(p, owner.id, id).await?,
            Pool::Sqlite(p) => delete_token(p, owner.id, id).await?,
        };
        self.callers.forget_token(id);
        if n == 0 {
            Err(StoreError::NotFound("token"))
        } else {
            Ok(())
        }
    }

    /// Check a presented secret at `now`, and record the token's use (at most once a minute). A token
    /// read up to `CALLER_TTL` ago answers without a lookup (see `callers`); its expiry is exact.
    pub async fn check_access_token(
        &self,
        secret: &str,
        now: Timestamp,
    ) -> StoreResult<TokenCheck> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(TokenCheck::Unknown);
        }
        let hash = secret_hash(secret);
        let read_at = Instant::now();
        let grant = match self.callers.grant(&hash, read_at) {
            Some(grant) => grant,
            None => {
                let since = self.callers.token_generation();
                let found = match &self.pool {
                    Pool::Postgres(p) => find_token(p, &hash).await?,
                    Pool::Sqlite(p) => find_token(p, &hash).await?,
                };
                let Some(grant) = found else {
                    return Ok(TokenCheck::Unknown);
                };
                self.callers
                    .remember_grant(hash, grant.clone(), read_at, since);
                grant
            }
        };
        if grant.expires_at.is_some_and(|at| at <= now) {
            return Ok(TokenCheck::Expired);
        }
        if grant
            .last_used_at
            .is_none_or(|at| ms(now) - ms(at) >= LAST_USED_EVERY_MS)
        {
            match &self.pool {
                Pool::Postgres(p) => record_use(p, grant.token_id, now).await?,
                Pool::Sqlite(p) => record_use(p, grant.token_id, now).await?,
            }
            self.callers.token_used(&hash, now);
        }
        Ok(TokenCheck::Valid(TokenGrant {
            token_id: grant.token_id,
            user_id: grant.user_id,
            scope: grant.scope,
        }))
    }
}

/// The table's CHECK allows only the two scopes; anything else would be a row written outside the store,
/// and is given the narrower one.
fn stored_scope(raw: &str) -> TokenScope {
    TokenScope::parse(raw).unwrap_or(TokenScope::Read)
}

async fn insert_token<D: Dialect>(
    pool: &sqlx::Pool<D>,
    user_id: Uuid,
    t: &NewToken,
) -> StoreResult<()> {
    query(
        "INSERT INTO access_tokens (id, user_id, name, scope, secret_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.id)
    .bind(user_id)
    .bind(t.name.clone())
    .bind(t.scope.as_str())
    .bind(t.hash.to_vec())
    .bind(ms(t.created_at))
    .bind(t.expires_at.map(ms))
    .execute(&mut pool.acquire().await?)
    .await?;
    Ok(())
}

type TokenRow = (Uuid, String, String, i64, Option<i64>, Option<i64>);

async fn list_tokens<D: Dialect>(
    pool: &sqlx::Pool<D>,
    user_id: Uuid,
) -> StoreResult<Vec<TokenRow>> {
    Ok(query_as(
        "SELECT id, name, scope, created_at, expires_at, last_used_at FROM access_tokens \
         WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(&mut pool.acquire().await?)
    .await?)
}

async fn delete_token<D: Dialect>(
    pool: &sqlx::Pool<D>,
    user_id: Uuid,
    id: Uuid,
) -> StoreResult<u64> {
    Ok(
        query("DELETE FROM access_tokens WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut pool.acquire().await?)
            .await?,
    )
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: Uuid,
    user_id: Uuid,
    scope: String,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
}

async fn find_token<D: Dialect>(
    pool: &sqlx::Pool<D>,
    hash: &SecretHash,
) -> StoreResult<Option<Grant>> {
    let row: Option<GrantRow> = query_as(
        "SELECT id, user_id, scope, expires_at, last_used_at FROM access_tokens WHERE secret_hash = $1",
    )
    .bind(hash.to_vec())
    .fetch_optional(&mut pool.acquire().await?)
    .await?;
    Ok(row.map(|r| Grant {
        token_id: r.id,
        user_id: r.user_id,
        scope: stored_scope(&r.scope),
        expires_at: r.expires_at.map(from_ms),
        last_used_at: r.last_used_at.map(from_ms),
    }))
}

/// Record a use at `now` unless one within the last minute is recorded already (by another replica, or a
/// request that raced this one), so concurrent requests write it once.
async fn record_use<D: Dialect>(pool: &sqlx::Pool<D>, id: Uuid, now: Timestamp) -> StoreResult<()> {
    query(
        "UPDATE access_tokens SET last_used_at = $1 WHERE id = $2 \
         AND (last_used_at IS NULL OR last_used_at <= $3)",
    )
    .bind(ms(now))
    .bind(id)
    .bind(ms(now) - LAST_USED_EVERY_MS)
    .execute(&mut pool.acquire().await?)
    .await?;
    Ok(())
}
