//! Accounts and profiles.

use crate::domain::due::Due;
use crate::domain::time_zone::{parse_time_zone, stored_time_zone};
use crate::error::{Invalid, StoreResult};
use crate::model::{ProfilePatch, User};
use crate::store::{BeginWrite, Store, conflict_on_unique, from_ms, ms, on_pool};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::time::Instant;
use uuid::Uuid;

/// The caller of a request: who they are and the zone their dates live in.
#[derive(Debug, Clone)]
pub struct Owner {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub time_zone: String,
    pub tz: TimeZone,
    pub created_at: Timestamp,
}

pub struct Credentials {
    pub id: Uuid,
    pub password_hash: String,
}

/// Read a caller's profile with `$executor` (a pool or a transaction); `StoreError::NotFound` if the
/// account is gone.
macro_rules! load_owner {
    ($executor:expr, $id:expr) => {{
        let row: Option<$crate::store::users::UserRow> =
            sqlx::query_as($crate::store::users::SELECT_OWNER)
                .bind($id)
                .fetch_optional($executor)
                .await?;
        $crate::store::Owner::from(row.ok_or($crate::error::StoreError::NotFound("user"))?)
    }};
}
pub(crate) use load_owner;

pub(crate) const SELECT_OWNER: &str =
    "SELECT id, email, display_name, time_zone, created_at FROM users WHERE id = $1";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    display_name: String,
    time_zone: String,
    created_at: i64,
}

impl From<UserRow> for Owner {
    fn from(r: UserRow) -> Owner {
        Owner {
            tz: stored_time_zone(&r.time_zone),
            id: r.id,
            email: r.email,
            display_name: r.display_name,
            time_zone: r.time_zone,
            created_at: from_ms(r.created_at),
        }
    }
}

impl Owner {
    /// Whether `other` is this profile as it is now (what tasks and their events are written with).
    pub(crate) fn same_profile(&self, other: &Owner) -> bool {
        self.id == other.id
            && self.email == other.email
            && self.display_name == other.display_name
            && self.time_zone == other.time_zone
    }

    pub fn to_user(&self) -> User {
        User {
            id: self.id,
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            time_zone: self.time_zone.clone(),
            created_at: self.created_at,
        }
    }

    pub fn event_user(&self) -> crate::events::EventUser {
        crate::events::EventUser {
            id: self.id,
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            time_zone: self.time_zone.clone(),
        }
    }
}

fn validate_display_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Invalid::new(
            "invalid_display_name",
            "display_name",
            "display_name must be at most 100 printable characters",
        ));
    }
    Ok(name.to_owned())
}

impl Store {
    /// Create an account. `email` must already be normalised and `password_hash` computed by the caller.
    pub async fn create_user(
        &self,
        email: &str,
        password_hash: &str,
        display_name: Option<&str>,
        time_zone: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<Owner> {
        let tz_name = match time_zone {
            Some(name) => {
                parse_time_zone(name, "time_zone")?;
                name.trim().to_owned()
            }
            None => "UTC".to_owned(),
        };
        let display = validate_display_name(display_name.unwrap_or(""))?;
        let id = Uuid::now_v7();
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO users (id, email, password_hash, display_name, time_zone, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(id)
            .bind(email)
            .bind(password_hash)
            .bind(&display)
            .bind(&tz_name)
            .bind(ms(now))
            .execute(p)
            .await
            .map_err(|e| conflict_on_unique(e, "email_taken", "email", || "an account with this email already exists".into()))?;
        });
        self.owner(id).await
    }

    pub async fn credentials(&self, email: &str) -> StoreResult<Option<Credentials>> {
        let row: Option<(Uuid, String)> = on_pool!(self, p => {
            sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1").bind(email).fetch_optional(p).await?
        });
        Ok(row.map(|(id, password_hash)| Credentials { id, password_hash }))
    }

    pub async fn owner(&self, id: Uuid) -> StoreResult<Owner> {
        Ok(on_pool!(self, p => load_owner!(p, id)))
    }

    /// The caller's profile, as read up to `CALLER_TTL` ago (see `callers`): for requests whose reads
    /// tolerate a profile change made through another replica reaching them that late, and whose writes
    /// re-check it. Everything else reads `owner`.
    pub async fn caller(&self, id: Uuid) -> StoreResult<Owner> {
        let now = Instant::now();
        if let Some(owner) = self.callers.owner(id, now) {
            return Ok(owner);
        }
        let since = self.callers.generation();
        let owner = self.owner(id).await?;
        self.callers.remember_owner(&owner, now, since);
        Ok(owner)
    }

    /// Update the profile. A zone change re-anchors all-day due dates (they keep their calendar date) and
    /// recomputes relative reminders, in one transaction.
    pub async fn update_profile(
        &self,
        owner: &Owner,
        patch: ProfilePatch,
        now: Timestamp,
    ) -> StoreResult<Owner> {
        let display = patch
            .display_name
            .as_deref()
            .map(validate_display_name)
            .transpose()?;
        let new_tz = match patch.time_zone.as_deref() {
            Some(name) => Some((name.trim().to_owned(), parse_time_zone(name, "time_zone")?)),
            None => None,
        };
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            if let Some(name) = &display {
                sqlx::query("UPDATE users SET display_name = $1, updated_at = $2 WHERE id = $3")
                    .bind(name).bind(ms(now)).bind(owner.id).execute(&mut *tx).await?;
            }
            if let Some((name, tz)) = &new_tz {
                sqlx::query("UPDATE users SET time_zone = $1, updated_at = $2 WHERE id = $3")
                    .bind(name).bind(ms(now)).bind(owner.id).execute(&mut *tx).await?;
                let all_day: Vec<(Uuid, i64)> =
                    sqlx::query_as("SELECT id, due_at FROM tasks WHERE user_id = $1 AND due_all_day AND due_at IS NOT NULL")
                        .bind(owner.id).fetch_all(&mut *tx).await?;
                for (id, at) in all_day {
                    let moved = Due::from_stored(at, true).rezone(&owner.tz, tz);
                    sqlx::query("UPDATE tasks SET due_at = $1 WHERE id = $2").bind(moved.at_ms()).bind(id).execute(&mut *tx).await?;
                }
                crate::store::reminders::recompute_for_user!(&mut *tx, owner.id, tz);
            }
            tx.commit().await?;
        });
        self.callers.forget(owner.id);
        self.owner(owner.id).await
    }
}
