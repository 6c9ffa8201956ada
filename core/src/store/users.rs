//! Accounts and profiles.

use crate::domain::due::Due;
use crate::domain::reminder::ReminderSpec;
use crate::domain::time_zone::parse_time_zone;
use crate::error::{Invalid, StoreError, StoreResult};
use crate::model::ProfilePatch;
use crate::store::dialect::{Conn, Dialect, query, query_as};
use crate::store::projects::insert_inbox;
use crate::store::rows::{Owner, load_owner};
use crate::store::{Pool, Store, conflict_on_unique, ms};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::time::Instant;
use uuid::Uuid;

pub struct Credentials {
    pub id: Uuid,
    pub password_hash: String,
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
        let account = NewAccount {
            id,
            email,
            password_hash,
            display_name: &display,
            time_zone: &tz_name,
            now,
        };
        match &self.pool {
            Pool::Postgres(p) => insert_user(p, &account).await?,
            Pool::Sqlite(p) => insert_user(p, &account).await?,
        }
        self.owner(id).await
    }

    pub async fn credentials(&self, email: &str) -> StoreResult<Option<Credentials>> {
        let row = match &self.pool {
            Pool::Postgres(p) => credentials(p, email).await?,
            Pool::Sqlite(p) => credentials(p, email).await?,
        };
        Ok(row.map(|(id, password_hash)| Credentials { id, password_hash }))
    }

    /// The password hash of account `id` (to check the current password before changing it).
    pub async fn password_hash(&self, id: Uuid) -> StoreResult<String> {
        let sql = "SELECT password_hash FROM users WHERE id = $1";
        let row: Option<(String,)> = match &self.pool {
            Pool::Postgres(p) => {
                query_as(sql)
                    .bind(id)
                    .fetch_optional(&mut p.acquire().await?)
                    .await?
            }
            Pool::Sqlite(p) => {
                query_as(sql)
                    .bind(id)
                    .fetch_optional(&mut p.acquire().await?)
                    .await?
            }
        };
        row.map(|(h,)| h).ok_or(StoreError::NotFound("user"))
    }

    /// End every login session of the account (its session epoch moves on), setting a new password hash
    /// when given; the account as it is now.
    pub async fn end_sessions(
        &self,
        owner: &Owner,
        new_password_hash: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<Owner> {
        let sql = "UPDATE users SET session_epoch = session_epoch + 1, \
                   password_hash = COALESCE($1, password_hash), updated_at = $2 WHERE id = $3";
        match &self.pool {
            Pool::Postgres(p) => {
                let q = query(sql)
                    .bind(new_password_hash)
                    .bind(ms(now))
                    .bind(owner.id);
                q.execute(&mut p.acquire().await?).await?
            }
            Pool::Sqlite(p) => {
                let q = query(sql)
                    .bind(new_password_hash)
                    .bind(ms(now))
                    .bind(owner.id);
                q.execute(&mut p.acquire().await?).await?
            }
        };
        self.callers.forget(owner.id);
        self.owner(owner.id).await
    }

    pub async fn owner(&self, id: Uuid) -> StoreResult<Owner> {
        match &self.pool {
            Pool::Postgres(p) => load_owner(&mut p.acquire().await?, id).await,
            Pool::Sqlite(p) => load_owner(&mut p.acquire().await?, id).await,
        }
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
        let change = ProfileChange {
            display_name: display,
            time_zone: new_tz,
        };
        match &self.pool {
            Pool::Postgres(p) => update_profile(p, owner, &change, now).await?,
            Pool::Sqlite(p) => update_profile(p, owner, &change, now).await?,
        }
        self.callers.forget(owner.id);
        self.owner(owner.id).await
    }
}

struct NewAccount<'a> {
    id: Uuid,
    email: &'a str,
    password_hash: &'a str,
    display_name: &'a str,
    time_zone: &'a str,
    now: Timestamp,
}

/// The account and its Inbox, together.
async fn insert_user<D: Dialect>(pool: &sqlx::Pool<D>, a: &NewAccount<'_>) -> StoreResult<()> {
    let mut tx = D::begin_write(pool).await?;
    query(
        "INSERT INTO users (id, email, password_hash, display_name, time_zone, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(a.id)
    .bind(a.email)
    .bind(a.password_hash)
    .bind(a.display_name)
    .bind(a.time_zone)
    .bind(ms(a.now))
    .execute(&mut tx)
    .await
    .map_err(|e| {
        conflict_on_unique(e, "email_taken", "email", || {
            "an account with this email already exists".into()
        })
    })?;
    insert_inbox(&mut tx, a.id, a.now).await?;
    tx.commit().await?;
    Ok(())
}

async fn credentials<D: Dialect>(
    pool: &sqlx::Pool<D>,
    email: &str,
) -> StoreResult<Option<(Uuid, String)>> {
    Ok(
        query_as("SELECT id, password_hash FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&mut pool.acquire().await?)
            .await?,
    )
}

/// A validated profile update: the new display name and zone, where they change.
struct ProfileChange {
    display_name: Option<String>,
    time_zone: Option<(String, TimeZone)>,
}

async fn update_profile<D: Dialect>(
    pool: &sqlx::Pool<D>,
    owner: &Owner,
    change: &ProfileChange,
    now: Timestamp,
) -> StoreResult<()> {
    let mut tx = D::begin_write(pool).await?;
    if let Some(name) = &change.display_name {
        query("UPDATE users SET display_name = $1, updated_at = $2 WHERE id = $3")
            .bind(name)
            .bind(ms(now))
            .bind(owner.id)
            .execute(&mut tx)
            .await?;
    }
    if let Some((name, tz)) = &change.time_zone {
        query("UPDATE users SET time_zone = $1, updated_at = $2 WHERE id = $3")
            .bind(name)
            .bind(ms(now))
            .bind(owner.id)
            .execute(&mut tx)
            .await?;
        let all_day: Vec<(Uuid, i64)> = query_as(
            "SELECT id, due_at FROM tasks WHERE user_id = $1 AND due_all_day AND due_at IS NOT NULL",
        )
        .bind(owner.id)
        .fetch_all(&mut tx)
        .await?;
        for (id, at) in all_day {
            let moved = Due::from_stored(at, true).rezone(&owner.tz, tz);
            query("UPDATE tasks SET due_at = $1 WHERE id = $2")
                .bind(moved.at_ms())
                .bind(id)
                .execute(&mut tx)
                .await?;
        }
        recompute_relative_reminders(&mut tx, owner.id, tz).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Recompute fire times of all unfired relative reminders of a user (after a zone change).
async fn recompute_relative_reminders<D: Dialect>(
    on: &mut impl Conn<D>,
    user_id: Uuid,
    tz: &TimeZone,
) -> StoreResult<()> {
    let rows: Vec<(Uuid, Option<i64>, bool, i32)> = query_as(
        "SELECT r.id, t.due_at, t.due_all_day, r.minutes_before FROM reminders r JOIN tasks t ON t.id = r.task_id \
         WHERE r.user_id = $1 AND r.minutes_before IS NOT NULL AND r.fired_at IS NULL",
    )
    .bind(user_id)
    .fetch_all(on)
    .await?;
    for (id, due_at, all_day, minutes) in rows {
        let due = due_at.map(|at| Due::from_stored(at, all_day));
        let spec = ReminderSpec::Relative {
            minutes_before: minutes.max(0) as u32,
        };
        query("UPDATE reminders SET fire_at = $1 WHERE id = $2")
            .bind(spec.fire_at(due, tz).map(ms))
            .bind(id)
            .execute(on)
            .await?;
    }
    Ok(())
}
