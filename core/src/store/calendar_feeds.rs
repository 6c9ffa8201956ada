//! Calendar feeds: a user's secret ICS URLs, which calendar apps poll without any Authorization header
//! (they cannot send one). The URL's secret is the credential, so it is kept like an access token's (see
//! `tokens`): `tpcal_` and 32 random bytes, only its SHA-256 stored and looked up. A feed only reads, and
//! only its owner's tasks; deleting it revokes the URL.

use crate::error::{StoreError, StoreResult};
use crate::model::Task;
use crate::store::dialect::{Dialect, query, query_as};
use crate::store::rows::{Owner, TaskRow};
use crate::store::secrets::{new_secret, secret_hash, validate_name};
use crate::store::{Pool, Store, from_ms, ms};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How every feed secret begins: it tells a feed URL apart from an access token in logs and leak scanners.
pub const FEED_PREFIX: &str = "tpcal_";

/// The name a feed gets when none is given (what calendar apps call the subscription).
pub const DEFAULT_FEED_NAME: &str = "TodoPlatform";

/// A feed as listed: never its secret.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct CalendarFeed {
    pub id: Uuid,
    /// What calendar apps call the subscription (`X-WR-CALNAME`).
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarFeedInput {
    /// 1..=100 characters after trimming; absent or null: "TodoPlatform".
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
}

/// A feed just created, with its secret: the only time the secret is shown.
// Deliberately not `Debug`, so the secret cannot reach a log through a `{:?}`.
pub struct CreatedCalendarFeed {
    pub feed: CalendarFeed,
    pub secret: String,
}

/// The feed a secret opens: whose, and under which name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedGrant {
    pub feed_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
}

/// What the feed's content depends on in the database, read without reading the tasks: how many dated
/// tasks it shows, their latest change, and a sum of their change times (so a set of tasks changing for
/// another of the same size and latest change — a project archived, another restored — changes it too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedVersion {
    pub tasks: i64,
    pub latest_update: Option<i64>,
    pub updates_sum: i64,
}

impl FeedVersion {
    /// A weak HTTP entity tag (weak, because compression may change the bytes) for this version together
    /// with `context`: whatever else the text depends on (the zone, the feed's name, the year).
    pub fn etag(&self, context: &str) -> String {
        let digest = Sha256::digest(
            format!(
                "{context}|{}|{:?}|{}",
                self.tasks, self.latest_update, self.updates_sum
            )
            .as_bytes(),
        );
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("W/\"{hex}\"")
    }
}

/// The tasks a feed shows: the owner's with a due date, not in an archived project.
const FEED_SCOPE: &str = "FROM tasks t JOIN projects p ON p.id = t.project_id \
     WHERE t.user_id = $1 AND t.due_at IS NOT NULL AND p.archived_at IS NULL";

impl Store {
    /// Create a feed for `owner`; the answer carries its secret, which is not kept.
    pub async fn create_calendar_feed(
        &self,
        owner: &Owner,
        input: CalendarFeedInput,
        now: Timestamp,
    ) -> StoreResult<CreatedCalendarFeed> {
        let name = match input.name.as_deref() {
            Some(raw) => validate_name(raw)?,
            None => DEFAULT_FEED_NAME.to_owned(),
        };
        let secret = new_secret(FEED_PREFIX);
        let feed = CalendarFeed {
            id: Uuid::now_v7(),
            name,
            created_at: now,
        };
        let hash = secret_hash(&secret);
        match &self.pool {
            Pool::Postgres(p) => insert_feed(p, owner.id, &feed, &hash).await?,
            Pool::Sqlite(p) => insert_feed(p, owner.id, &feed, &hash).await?,
        }
        Ok(CreatedCalendarFeed { feed, secret })
    }

    /// The owner's feeds, oldest first.
    pub async fn list_calendar_feeds(&self, owner: &Owner) -> StoreResult<Vec<CalendarFeed>> {
        let rows = match &self.pool {
            Pool::Postgres(p) => list_feeds(p, owner.id).await?,
            Pool::Sqlite(p) => list_feeds(p, owner.id).await?,
        };
        Ok(rows
            .into_iter()
            .map(|(id, name, created_at)| CalendarFeed {
                id,
                name,
                created_at: from_ms(created_at),
            })
            .collect())
    }

    /// Revoke one of the owner's feeds; another user's is `NotFound`, like a missing one.
    pub async fn revoke_calendar_feed(&self, owner: &Owner, id: Uuid) -> StoreResult<()> {
        let n = match &self.pool {
            Pool::Postgres(p) => delete_feed(p, owner.id, id).await?,
            Pool::Sqlite(p) => delete_feed(p, owner.id, id).await?,
        };
        if n == 0 {
            Err(StoreError::NotFound("calendar feed"))
        } else {
            Ok(())
        }
    }

    /// The feed a presented secret opens, or `None` (never issued, revoked, or not a feed secret). Not
    /// cached, unlike access tokens: a revoked feed stops at once, and calendars poll rarely.
    pub async fn find_calendar_feed(&self, secret: &str) -> StoreResult<Option<FeedGrant>> {
        if !secret.starts_with(FEED_PREFIX) {
            return Ok(None);
        }
        let hash = secret_hash(secret);
        Ok(match &self.pool {
            Pool::Postgres(p) => find_feed(p, &hash).await?,
            Pool::Sqlite(p) => find_feed(p, &hash).await?,
        })
    }

    /// What the owner's feed content depends on in the database (see [`FeedVersion`]).
    pub async fn calendar_feed_version(&self, owner: &Owner) -> StoreResult<FeedVersion> {
        let (tasks, latest_update, updates_sum) = match &self.pool {
            Pool::Postgres(p) => feed_version(p, owner.id).await?,
            Pool::Sqlite(p) => feed_version(p, owner.id).await?,
        };
        Ok(FeedVersion {
            tasks,
            latest_update,
            updates_sum,
        })
    }

    /// The tasks the owner's feed shows, by due date.
    pub async fn calendar_feed_tasks(
        &self,
        owner: &Owner,
        now: Timestamp,
    ) -> StoreResult<Vec<Task>> {
        let rows = match &self.pool {
            Pool::Postgres(p) => feed_tasks(p, owner.id).await?,
            Pool::Sqlite(p) => feed_tasks(p, owner.id).await?,
        };
        rows.into_iter().map(|r| r.into_task(owner, now)).collect()
    }
}

async fn insert_feed<D: Dialect>(
    pool: &sqlx::Pool<D>,
    user_id: Uuid,
    feed: &CalendarFeed,
    hash: &[u8; 32],
) -> StoreResult<()> {
    query(
        "INSERT INTO calendar_feeds (id, user_id, name, secret_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(feed.id)
    .bind(user_id)
    .bind(feed.name.clone())
    .bind(hash.to_vec())
    .bind(ms(feed.created_at))
    .execute(&mut pool.acquire().await?)
    .await?;
    Ok(())
}

async fn list_feeds<D: Dialect>(
    pool: &sqlx::Pool<D>,
    user_id: Uuid,
) -> StoreResult<Vec<(Uuid, String, i64)>> {
    Ok(query_as(
        "SELECT id, name, created_at FROM calendar_feeds WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(&mut pool.acquire().await?)
    .await?)
}

async fn delete_feed<D: Dialect>(
    pool: &sqlx::Pool<D>,
    user_id: Uuid,
    id: Uuid,
) -> StoreResult<u64> {
    Ok(
        query("DELETE FROM calendar_feeds WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut pool.acquire().await?)
            .await?,
    )
}

async fn find_feed<D: Dialect>(
    pool: &sqlx::Pool<D>,
    hash: &[u8; 32],
) -> StoreResult<Option<FeedGrant>> {
    let row: Option<(Uuid, Uuid, String)> =
        query_as("SELECT id, user_id, name FROM calendar_feeds WHERE secret_hash = $1")
            .bind(hash.to_vec())
            .fetch_optional(&mut pool.acquire().await?)
            .await?;
    Ok(row.map(|(feed_id, user_id, name)| FeedGrant {
        feed_id,
        user_id,
        name,
    }))
}

async fn feed_version<D: Dialect>(
    pool: &sqlx::Pool<D>,
    user_id: Uuid,
) -> StoreResult<(i64, Option<i64>, i64)> {
    // The sum is taken modulo a prime so it never overflows a BIGINT, whatever the number of tasks.
    let sql = format!(
        "SELECT COUNT(*), MAX(t.updated_at), CAST(COALESCE(SUM(t.updated_at % 1000000007), 0) AS BIGINT) \
         {FEED_SCOPE}"
    );
    Ok(query_as(&sql)
        .bind(user_id)
        .fetch_one(&mut pool.acquire().await?)
        .await?)
}

async fn feed_tasks<D: Dialect>(pool: &sqlx::Pool<D>, user_id: Uuid) -> StoreResult<Vec<TaskRow>> {
    let sql = format!(
        "SELECT {} {FEED_SCOPE} ORDER BY t.due_at, t.id",
        D::task_columns()
    );
    Ok(query_as(&sql)
        .bind(user_id)
        .fetch_all(&mut pool.acquire().await?)
        .await?)
}
