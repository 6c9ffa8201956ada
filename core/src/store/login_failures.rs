//! Failed logins, counted in the database so every API replica shares one budget per account and per
//! client address (the policy, how many and for how long, is the API's). A key's row is its current
//! window: when it started and how many failures it holds; a failure after the window has expired starts
//! a new one, and expired rows are deleted as failures are recorded.

use crate::error::StoreResult;
use crate::store::dialect::{Dialect, query, query_as};
use crate::store::{Pool, Store, from_ms, ms};
use jiff::Timestamp;

/// One key's failures since `started`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureWindow {
    pub key: String,
    pub started: Timestamp,
    pub failures: u32,
}

impl Store {
    /// The windows of `keys` that started after `since` (older ones have expired).
    pub async fn login_failures(
        &self,
        keys: &[&str],
        since: Timestamp,
    ) -> StoreResult<Vec<FailureWindow>> {
        let mut windows = Vec::with_capacity(keys.len());
        for key in keys {
            let found = match &self.pool {
                Pool::Postgres(p) => find_window(p, key, since).await?,
                Pool::Sqlite(p) => find_window(p, key, since).await?,
            };
            windows.extend(found);
        }
        Ok(windows)
    }

    /// Count a failure at `now` against each of `keys`: in its window if that started after `since`,
    /// else in a new one starting `now`. Windows of any key that started at or before `since` are deleted.
    pub async fn record_login_failure(
        &self,
        keys: &[&str],
        now: Timestamp,
        since: Timestamp,
    ) -> StoreResult<()> {
        match &self.pool {
            Pool::Postgres(p) => record_failure(p, keys, now, since).await,
            Pool::Sqlite(p) => record_failure(p, keys, now, since).await,
        }
    }

    /// Forget `key`'s failures.
    pub async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        match &self.pool {
            Pool::Postgres(p) => clear(p, key).await,
            Pool::Sqlite(p) => clear(p, key).await,
        }
    }
}

async fn find_window<D: Dialect>(
    pool: &sqlx::Pool<D>,
    key: &str,
    since: Timestamp,
) -> StoreResult<Option<FailureWindow>> {
    let row: Option<(i64, i32)> = query_as(
        "SELECT window_started_at, failures FROM login_failures \
         WHERE key = $1 AND window_started_at > $2",
    )
    .bind(key.to_owned())
    .bind(ms(since))
    .fetch_optional(&mut pool.acquire().await?)
    .await?;
    Ok(row.map(|(started, failures)| FailureWindow {
        key: key.to_owned(),
        started: from_ms(started),
        failures: u32::try_from(failures).unwrap_or(0),
    }))
}

async fn record_failure<D: Dialect>(
    pool: &sqlx::Pool<D>,
    keys: &[&str],
    now: Timestamp,
    since: Timestamp,
) -> StoreResult<()> {
    let mut conn = pool.acquire().await?;
    for key in keys {
        // One statement per key, so concurrent failures on other replicas add up instead of overwriting.
        query(
            "INSERT INTO login_failures (key, window_started_at, failures) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
             failures = CASE WHEN login_failures.window_started_at > $3 \
                 THEN login_failures.failures + 1 ELSE 1 END, \
             window_started_at = CASE WHEN login_failures.window_started_at > $3 \
                 THEN login_failures.window_started_at ELSE $2 END",
        )
        .bind(key.to_string())
        .bind(ms(now))
        .bind(ms(since))
        .execute(&mut conn)
        .await?;
    }
    // A spray of distinct emails leaves a row each; they go once expired.
    query("DELETE FROM login_failures WHERE window_started_at <= $1")
        .bind(ms(since))
        .execute(&mut conn)
        .await?;
    Ok(())
}

async fn clear<D: Dialect>(pool: &sqlx::Pool<D>, key: &str) -> StoreResult<()> {
    query("DELETE FROM login_failures WHERE key = $1")
        .bind(key.to_owned())
        .execute(&mut pool.acquire().await?)
        .await?;
    Ok(())
}
