//! Storage: one `Store` over SQLite (embedded default) or PostgreSQL (production).
//!
//! Each operation is written once, generic over the [`Dialect`](dialect::Dialect), and compiled for both
//! backends (a statement whose values don't encode on one of them fails to compile). `Store` holds one
//! pool and calls the operation for it. Where the dialects really differ — full-text search, row locking
//! — each dialect writes its SQL out in full and everything around it stays shared. One behavioural test
//! suite (`tests/store.rs`) runs on both.

mod calendar_feeds;
mod callers;
pub mod dialect;
mod login_failures;
mod notifications;
mod outbox;
mod projects;
mod reminders;
mod rows;
mod secrets;
mod tags;
mod tasks;
mod tokens;
mod upgrade;
mod users;

pub use calendar_feeds::{
    CalendarFeed, CalendarFeedInput, CreatedCalendarFeed, DEFAULT_FEED_NAME, FEED_PREFIX,
    FeedGrant, FeedVersion,
};
pub use callers::CALLER_TTL;
pub use login_failures::FailureWindow;
pub use notifications::{
    CreatedWebhook, MAX_WEBHOOKS, NotificationSettings, NotificationSettingsInput,
    NotificationTargets, WEBHOOK_SECRET_PREFIX, Webhook, WebhookInput, WebhookPatch, WebhookTarget,
    WebhookTest, validate_webhook_url,
};
pub use outbox::{OutboxBacklog, OutboxRow};
pub use reminders::DueReminder;
pub use rows::Owner;
pub use tokens::{
    AccessToken, AccessTokenInput, CreatedAccessToken, MAX_EXPIRY_DAYS, TOKEN_PREFIX, TokenCheck,
    TokenGrant, TokenScope,
};
pub use users::Credentials;

use crate::error::StoreResult;
use dialect::Dialect;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// A store's connection pool, one per backend: generic code over [`Dialect`] runs on either.
#[derive(Clone, Debug)]
pub enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: Pool,
    /// Wakes this process's outbox relay after a commit that wrote events.
    outbox_wake: Arc<Notify>,
    /// CloudEvents `source` of events this store writes.
    source: Arc<str>,
    /// Recent callers' profiles and tags (`Store::caller`).
    callers: Arc<callers::Callers>,
}

static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A copy of `m` that tolerates versions applied by another component's migrator.
pub fn tolerant(m: &sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
    sqlx::migrate::Migrator {
        migrations: m.migrations.clone(),
        ignore_missing: true,
        locking: m.locking,
        no_tx: m.no_tx,
    }
}

impl Store {
    /// Connect to `postgres://…` or `sqlite://…` (a bare path means a SQLite file).
    pub async fn connect(url: &str, max_connections: u32, source: &str) -> StoreResult<Store> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Every statement reads one user's rows: a parallel plan or JIT compilation (both chosen
            // from row estimates) would cost more than the query itself.
            let opts = PgConnectOptions::from_str(url)?
                .application_name("todoplatform")
                .options([("jit", "off"), ("max_parallel_workers_per_gather", "0")]);
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(5))
                    // sqlx pings on every acquire by default: a round trip per statement. A connection
                    // in steady use is known good; only one idle for a while (a restarted server, a
                    // proxy's idle cut) is checked before use.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for > Duration::from_secs(10) {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect_with(opts)
                    .await?,
            )
        } else {
            let url = if url.starts_with("sqlite:") {
                url.to_owned()
            } else {
                format!("sqlite://{url}")
            };
            let opts = SqliteConnectOptions::from_str(&url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            // An in-memory database lives as long as its one connection.
            let max = if url.contains(":memory:") || url.contains("mode=memory") {
                1
            } else {
                max_connections
            };
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(max)
                    .min_connections(if max == 1 { 1 } else { 0 })
                    .idle_timeout(if max == 1 {
                        None
                    } else {
                        Some(Duration::from_secs(600))
                    })
                    .max_lifetime(if max == 1 {
                        None
                    } else {
                        Some(Duration::from_secs(1800))
                    })
                    .connect_with(opts)
                    .await?,
            )
        };
        Ok(Store {
            pool,
            outbox_wake: Arc::new(Notify::new()),
            source: source.into(),
            callers: Arc::default(),
        })
    }

    /// Apply the API's migrations, then rewrite data whose meaning changed (`upgrade.rs`). Worker roles keep
    /// their own tables and migrations in the same database, so each migrator ignores the other's versions.
    pub async fn migrate(&self) -> StoreResult<()> {
        match &self.pool {
            Pool::Postgres(p) => tolerant(&PG_MIGRATIONS).run(p).await?,
            Pool::Sqlite(p) => tolerant(&SQLITE_MIGRATIONS).run(p).await?,
        }
        let rewritten = match &self.pool {
            Pool::Postgres(p) => upgrade::legacy_rules(p).await?,
            Pool::Sqlite(p) => upgrade::legacy_rules(p).await?,
        };
        if rewritten > 0 {
            tracing::info!(
                rules = rewritten,
                "rewrote recurrence rules stored by an earlier version into their RFC 5545 spelling"
            );
        }
        Ok(())
    }

    /// Apply only the API's migrations older than `version`: what a database of an earlier release holds,
    /// for tests of what the later migrations do to its data.
    pub async fn migrate_before(&self, version: i64) -> StoreResult<()> {
        let older = |m: &sqlx::migrate::Migrator| sqlx::migrate::Migrator {
            migrations: m
                .migrations
                .iter()
                .filter(|m| m.version < version)
                .cloned()
                .collect(),
            ..tolerant(m)
        };
        match &self.pool {
            Pool::Postgres(p) => older(&PG_MIGRATIONS).run(p).await?,
            Pool::Sqlite(p) => older(&SQLITE_MIGRATIONS).run(p).await?,
        }
        Ok(())
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        match &self.pool {
            Pool::Postgres(p) => ping(p).await,
            Pool::Sqlite(p) => ping(p).await,
        }
    }

    /// The pool, for a crate that keeps its own tables in the same database (the workers').
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Postgres(_) => Backend::Postgres,
            Pool::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// `(connections open, of which idle)` for the pool-usage gauge.
    pub fn pool_usage(&self) -> (u32, usize) {
        match &self.pool {
            Pool::Postgres(p) => (p.size(), p.num_idle()),
            Pool::Sqlite(p) => (p.size(), p.num_idle()),
        }
    }

    /// The PostgreSQL pool, for `LISTEN` (the outbox relay) and workers' own tables.
    pub fn postgres(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(p) => Some(p),
            Pool::Sqlite(_) => None,
        }
    }

    pub fn sqlite(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite(p) => Some(p),
            Pool::Postgres(_) => None,
        }
    }

    pub fn outbox_wake(&self) -> Arc<Notify> {
        self.outbox_wake.clone()
    }

    pub fn event_source(&self) -> &str {
        &self.source
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Postgres(p) => p.close().await,
            Pool::Sqlite(p) => p.close().await,
        }
    }
}

async fn ping<D: Dialect>(pool: &sqlx::Pool<D>) -> StoreResult<()> {
    dialect::query("SELECT 1")
        .execute(&mut pool.acquire().await?)
        .await?;
    Ok(())
}

/// Milliseconds since the epoch, the storage form of every instant.
pub(crate) fn ms(ts: jiff::Timestamp) -> i64 {
    ts.as_millisecond()
}

pub(crate) fn from_ms(v: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(v).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// A value that could not be turned into JSON for the database.
pub(crate) fn encode_error(e: serde_json::Error) -> crate::error::StoreError {
    crate::error::StoreError::Database(sqlx::Error::Encode(Box::new(e)))
}

/// Map a unique-constraint violation to a domain conflict; pass anything else through.
pub(crate) fn conflict_on_unique(
    err: sqlx::Error,
    code: &'static str,
    field: &'static str,
    message: impl FnOnce() -> String,
) -> crate::error::StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            crate::error::StoreError::Conflict {
                code,
                field,
                message: message(),
            }
        }
        _ => err.into(),
    }
}

/// Run a write transaction again when PostgreSQL chose it to break a lock cycle (`deadlock_detected`):
/// it was rolled back whole, and the other transaction has gone on. Two renames of tags that share a
/// task, or a rename and an edit of one of its tasks, can form such a cycle (each holds one row the other
/// refreshes). Gives up after a few attempts.
pub(crate) async fn retry_deadlocked<T, F, Fut>(mut attempt: F) -> crate::error::StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = crate::error::StoreResult<T>>,
{
    const ATTEMPTS: usize = 4;
    let mut left = ATTEMPTS;
    loop {
        left -= 1;
        match attempt().await {
            Err(crate::error::StoreError::Database(sqlx::Error::Database(e)))
                if left > 0 && e.code().as_deref() == Some("40P01") =>
            {
                tracing::info!("a write lost a deadlock and runs again");
            }
            done => return done,
        }
    }
}
