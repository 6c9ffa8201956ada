//! The notifier's record of each reminder firing on each channel (`worker_deliveries`): what it sends,
//! where that stands (pending → sent, or retrying with backoff until it is sent or, after the retry
//! window, `failed`), and the event itself, so a delivery can be retried long after the bus forgot it.
//!
//! Written by the notifier; the API reads a user's deliveries from here (as it reads the audit role's
//! activity) and asks for a failed one to be retried through [`replay`], which only puts it back in the
//! notifier's queue. Every function takes the time it acts at, so tests can move the clock.
//!
//! A firing has one delivery per target: the email, the platform's webhook, and each of the user's
//! enabled personal webhooks (`webhook_id`). A delivery is identified by its id from the moment it is
//! recorded.

use crate::config::RetryPolicy;
use jiff::Timestamp;
use todo_core::Store;
use todo_core::events::{CloudEvent, ReminderDueData};
use todo_core::model::{Channel, Delivery, DeliveryStatus};
use todo_core::store::Pool;
use todo_core::store::dialect::{Dialect, query, query_as};
use uuid::Uuid;

const VIEW_COLUMNS: &str = "id, event_id, reminder_id, task_id, task_title, channel, webhook_id, status, \
     attempts, last_error, next_attempt_at, sent_at, created_at, updated_at";

/// Whether a row can be attempted at `$1`: queued, due, not being attempted elsewhere (a claim older than
/// its lease was abandoned by a worker that died mid-send).
const ATTEMPTABLE: &str = "status IN ('pending', 'retrying') AND payload IS NOT NULL AND next_attempt_at <= $1 \
     AND (claimed_until IS NULL OR claimed_until < $1)";

#[derive(sqlx::FromRow)]
struct ViewRow {
    id: Uuid,
    event_id: Uuid,
    reminder_id: Uuid,
    task_id: Uuid,
    task_title: String,
    channel: String,
    webhook_id: Option<Uuid>,
    status: String,
    attempts: i32,
    last_error: Option<String>,
    next_attempt_at: Option<i64>,
    sent_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl ViewRow {
    fn into_view(self) -> Delivery {
        let status = DeliveryStatus::parse(&self.status).unwrap_or(DeliveryStatus::Failed);
        Delivery {
            id: self.id,
            event_id: self.event_id,
            reminder_id: self.reminder_id,
            task_id: self.task_id,
            task_title: self.task_title,
            channel: Channel::parse(&self.channel).unwrap_or(Channel::Email),
            webhook_id: self.webhook_id,
            status,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            last_error: self.last_error,
            next_attempt_at: match status {
                DeliveryStatus::Pending | DeliveryStatus::Retrying => self.next_attempt_at.map(at),
                _ => None,
            },
            sent_at: self.sent_at.map(at),
            created_at: at(self.created_at),
            updated_at: at(self.updated_at),
        }
    }
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where one delivery of a firing goes.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub channel: Channel,
    /// The email address, or the webhook's URL when recorded.
    pub recipient: &'a str,
    /// The personal webhook (`None`: the email, or the platform's webhook).
    pub webhook_id: Option<Uuid>,
}

/// Record a firing: one `pending` row per target, due now, holding the event; returns the ids of the
/// firing's deliveries. Recording the same event again adds none (rows written before this table held
/// events get theirs).
pub async fn record(
    store: &Store,
    event: &CloudEvent,
    data: &ReminderDueData,
    targets: &[Target<'_>],
    now: Timestamp,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let payload = serde_json::to_string(event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let now = now.as_millisecond();
    for target in targets {
        let row = NewDelivery {
            target,
            payload: &payload,
            now,
        };
        match store.pool() {
            Pool::Postgres(p) => insert(p, event, data, &row).await?,
            Pool::Sqlite(p) => insert(p, event, data, &row).await?,
        }
    }
    let sql = "SELECT id FROM worker_deliveries WHERE event_id = $1 ORDER BY channel, id";
    let rows: Vec<(Uuid,)> = match store.pool() {
        Pool::Postgres(p) => {
            query_as(sql)
                .bind(event.id)
                .fetch_all(&mut p.acquire().await?)
                .await?
        }
        Pool::Sqlite(p) => {
            query_as(sql)
                .bind(event.id)
                .fetch_all(&mut p.acquire().await?)
                .await?
        }
    };
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// One target's row of a firing, as `record` writes it.
struct NewDelivery<'a> {
    target: &'a Target<'a>,
    payload: &'a str,
    now: i64,
}

async fn insert<D: Dialect>(
    pool: &sqlx::Pool<D>,
    event: &CloudEvent,
    data: &ReminderDueData,
    row: &NewDelivery<'_>,
) -> Result<(), sqlx::Error> {
    // Each kind of delivery has its own unique index (see the migration `personal_webhooks`).
    let on_conflict = if row.target.webhook_id.is_some() {
        "ON CONFLICT (event_id, webhook_id) WHERE webhook_id IS NOT NULL DO NOTHING"
    } else {
        "ON CONFLICT (event_id, channel) WHERE webhook_id IS NULL DO UPDATE SET \
         user_id = excluded.user_id, task_id = excluded.task_id, reminder_id = excluded.reminder_id, \
         task_title = excluded.task_title, payload = excluded.payload, retry_from = excluded.retry_from \
         WHERE worker_deliveries.payload IS NULL"
    };
    let sql = format!(
        "INSERT INTO worker_deliveries (id, event_id, channel, webhook_id, recipient, status, attempts, user_id, \
         task_id, reminder_id, task_title, payload, next_attempt_at, retry_from, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $8, $9, $10, $11, $11, $11, $11) {on_conflict}"
    );
    query(&sql)
        .bind(Uuid::now_v7())
        .bind(event.id)
        .bind(row.target.channel.as_str())
        .bind(row.target.webhook_id)
        .bind(row.target.recipient)
        .bind(data.user.id)
        .bind(data.task.id)
        .bind(data.reminder_id)
        .bind(&data.task.title)
        .bind(row.payload)
        .bind(row.now)
        .execute(&mut pool.acquire().await?)
        .await?;
    Ok(())
}

/// A delivery this worker has claimed: it alone attempts it until `lease` passes.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub event_id: Uuid,
    pub channel: Channel,
    pub webhook_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub recipient: String,
    /// The event's JSON.
    pub payload: String,
    /// Attempts including this one.
    pub attempts: u32,
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    event_id: Uuid,
    channel: String,
    webhook_id: Option<Uuid>,
    user_id: Option<Uuid>,
    recipient: String,
    payload: String,
    attempts: i32,
}

/// Claim one delivery if it is due and nobody is attempting it; counts the attempt.
pub async fn claim(
    store: &Store,
    id: Uuid,
    now: Timestamp,
    lease: jiff::SignedDuration,
) -> Result<Option<Claimed>, sqlx::Error> {
    let now_ms = now.as_millisecond();
    let sql = format!(
        "UPDATE worker_deliveries SET claimed_until = $2, attempts = attempts + 1, updated_at = $1 \
         WHERE id = $3 AND {ATTEMPTABLE} \
         RETURNING event_id, channel, webhook_id, user_id, recipient, payload, attempts"
    );
    let lease_until = now_ms + lease.as_millis() as i64;
    let row = match store.pool() {
        Pool::Postgres(p) => claim_row(p, &sql, (now_ms, lease_until), id).await?,
        Pool::Sqlite(p) => claim_row(p, &sql, (now_ms, lease_until), id).await?,
    };
    Ok(row.and_then(|r| {
        Some(Claimed {
            id,
            event_id: r.event_id,
            channel: Channel::parse(&r.channel)?,
            webhook_id: r.webhook_id,
            user_id: r.user_id,
            recipient: r.recipient,
            payload: r.payload,
            attempts: u32::try_from(r.attempts).unwrap_or(0),
        })
    }))
}

/// The delivery `sql` (see `claim`) claimed at `now` until `until`.
async fn claim_row<D: Dialect>(
    pool: &sqlx::Pool<D>,
    sql: &str,
    (now, until): (i64, i64),
    id: Uuid,
) -> Result<Option<ClaimedRow>, sqlx::Error> {
    query_as(sql)
        .bind(now)
        .bind(until)
        .bind(id)
        .fetch_optional(&mut pool.acquire().await?)
        .await
}

/// Deliveries due at `now` and not being attempted, earliest first.
pub async fn due(store: &Store, now: Timestamp, limit: u32) -> Result<Vec<Uuid>, sqlx::Error> {
    let sql = format!(
        "SELECT id FROM worker_deliveries WHERE {ATTEMPTABLE} ORDER BY next_attempt_at LIMIT $2"
    );
    let rows = match store.pool() {
        Pool::Postgres(p) => due_rows(p, &sql, now, limit).await?,
        Pool::Sqlite(p) => due_rows(p, &sql, now, limit).await?,
    };
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

async fn due_rows<D: Dialect>(
    pool: &sqlx::Pool<D>,
    sql: &str,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<(Uuid,)>, sqlx::Error> {
    query_as(sql)
        .bind(now.as_millisecond())
        .bind(i64::from(limit))
        .fetch_all(&mut pool.acquire().await?)
        .await
}

/// When the next delivery becomes attemptable (a claimed one when its lease ends), if any is queued.
pub async fn next_due_at(store: &Store) -> Result<Option<Timestamp>, sqlx::Error> {
    let row = match store.pool() {
        Pool::Postgres(p) => next_due_row(p).await?,
        Pool::Sqlite(p) => next_due_row(p).await?,
    };
    Ok(row.and_then(|(v,)| v).map(at))
}

async fn next_due_row<D: Dialect>(
    pool: &sqlx::Pool<D>,
) -> Result<Option<(Option<i64>,)>, sqlx::Error> {
    query_as(
        "SELECT MIN(CASE WHEN claimed_until > next_attempt_at THEN claimed_until ELSE next_attempt_at END) \
         FROM worker_deliveries WHERE status IN ('pending', 'retrying') AND payload IS NOT NULL",
    )
    .fetch_optional(&mut pool.acquire().await?)
    .await
}

/// The claimed attempt succeeded.
pub async fn mark_sent(store: &Store, id: Uuid, now: Timestamp) -> Result<(), sqlx::Error> {
    match store.pool() {
        Pool::Postgres(p) => mark_sent_on(p, id, now).await,
        Pool::Sqlite(p) => mark_sent_on(p, id, now).await,
    }
}

async fn mark_sent_on<D: Dialect>(
    pool: &sqlx::Pool<D>,
    id: Uuid,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    query(
        "UPDATE worker_deliveries SET status = 'sent', sent_at = $1, next_attempt_at = NULL, claimed_until = NULL, \
         updated_at = $1 WHERE id = $2",
    )
    .bind(now.as_millisecond())
    .bind(id)
    .execute(&mut pool.acquire().await?)
    .await?;
    Ok(())
}

/// The claimed attempt failed with `error`: retry after the policy's wait, or give up (`failed`) once the
/// retry window (from the first attempt, or from the last replay) has passed — or at once when
/// `policy` is `None` (retrying cannot help: the webhook was deleted or disabled). Returns the new status.
pub async fn mark_failed(
    store: &Store,
    id: Uuid,
    error: &str,
    now: Timestamp,
    policy: Option<&RetryPolicy>,
) -> Result<DeliveryStatus, sqlx::Error> {
    // Read now, not at the claim: a replay during the attempt started a new window.
    let from = match store.pool() {
        Pool::Postgres(p) => retry_from(p, id).await?,
        Pool::Sqlite(p) => retry_from(p, id).await?,
    };
    let from = from.and_then(|(f,)| f).map(at).unwrap_or(now);
    let next = policy.and_then(|policy| policy.next_attempt(from, now));
    let status = if next.is_some() {
        DeliveryStatus::Retrying
    } else {
        DeliveryStatus::Failed
    };
    let failure = Failure {
        status,
        next,
        error,
        now,
    };
    match store.pool() {
        Pool::Postgres(p) => mark_failed_on(p, id, &failure).await?,
        Pool::Sqlite(p) => mark_failed_on(p, id, &failure).await?,
    }
    Ok(status)
}

async fn retry_from<D: Dialect>(
    pool: &sqlx::Pool<D>,
    id: Uuid,
) -> Result<Option<(Option<i64>,)>, sqlx::Error> {
    query_as("SELECT retry_from FROM worker_deliveries WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut pool.acquire().await?)
        .await
}

/// What a failed attempt leaves a delivery as.
struct Failure<'a> {
    status: DeliveryStatus,
    next: Option<Timestamp>,
    error: &'a str,
    now: Timestamp,
}

async fn mark_failed_on<D: Dialect>(
    pool: &sqlx::Pool<D>,
    id: Uuid,
    f: &Failure<'_>,
) -> Result<(), sqlx::Error> {
    query(
        "UPDATE worker_deliveries SET status = $1, next_attempt_at = $2, last_error = $3, claimed_until = NULL, \
         updated_at = $4 WHERE id = $5 AND status <> 'sent'",
    )
    .bind(f.status.as_str())
    .bind(f.next.map(|t| t.as_millisecond()))
    .bind(f.error)
    .bind(f.now.as_millisecond())
    .bind(id)
    .execute(&mut pool.acquire().await?)
    .await?;
    Ok(())
}

/// The user's deliveries with one of `statuses` (all when empty), newest first.
pub async fn list(
    store: &Store,
    user_id: Uuid,
    statuses: &[DeliveryStatus],
    limit: u32,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let filter = if statuses.is_empty() {
        String::new()
    } else {
        format!(" AND status IN ({})", placeholders(3, statuses.len()))
    };
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM worker_deliveries WHERE user_id = $1{filter} \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    let rows = match store.pool() {
        Pool::Postgres(p) => list_rows(p, &sql, user_id, limit, statuses).await?,
        Pool::Sqlite(p) => list_rows(p, &sql, user_id, limit, statuses).await?,
    };
    Ok(rows.into_iter().map(ViewRow::into_view).collect())
}

async fn list_rows<D: Dialect>(
    pool: &sqlx::Pool<D>,
    sql: &str,
    user_id: Uuid,
    limit: u32,
    statuses: &[DeliveryStatus],
) -> Result<Vec<ViewRow>, sqlx::Error> {
    let mut q = query_as(sql).bind(user_id).bind(i64::from(limit));
    for s in statuses {
        q = q.bind(s.as_str());
    }
    q.fetch_all(&mut pool.acquire().await?).await
}

/// The user's deliveries of the given events (reminder firings), by channel.
pub async fn of_events(
    store: &Store,
    user_id: Uuid,
    event_ids: &[Uuid],
) -> Result<Vec<Delivery>, sqlx::Error> {
    if event_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM worker_deliveries WHERE user_id = $1 AND event_id IN ({}) ORDER BY channel, id",
        placeholders(2, event_ids.len())
    );
    let rows = match store.pool() {
        Pool::Postgres(p) => event_rows(p, &sql, user_id, event_ids).await?,
        Pool::Sqlite(p) => event_rows(p, &sql, user_id, event_ids).await?,
    };
    Ok(rows.into_iter().map(ViewRow::into_view).collect())
}

async fn event_rows<D: Dialect>(
    pool: &sqlx::Pool<D>,
    sql: &str,
    user_id: Uuid,
    event_ids: &[Uuid],
) -> Result<Vec<ViewRow>, sqlx::Error> {
    let mut q = query_as(sql).bind(user_id);
    for id in event_ids {
        q = q.bind(*id);
    }
    q.fetch_all(&mut pool.acquire().await?).await
}

/// One of the user's deliveries.
pub async fn get(store: &Store, user_id: Uuid, id: Uuid) -> Result<Option<Delivery>, sqlx::Error> {
    let sql =
        format!("SELECT {VIEW_COLUMNS} FROM worker_deliveries WHERE id = $1 AND user_id = $2");
    let row = match store.pool() {
        Pool::Postgres(p) => get_row(p, &sql, user_id, id).await?,
        Pool::Sqlite(p) => get_row(p, &sql, user_id, id).await?,
    };
    Ok(row.map(ViewRow::into_view))
}

async fn get_row<D: Dialect>(
    pool: &sqlx::Pool<D>,
    sql: &str,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<ViewRow>, sqlx::Error> {
    query_as(sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(&mut pool.acquire().await?)
        .await
}

/// How reminders to one personal webhook have gone.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookDeliveries {
    /// Reminders delivered (the webhook answered 2xx).
    pub sent: u64,
    /// Reminders not delivered yet: the first attempt is under way, or a failed one is being retried.
    pub pending: u64,
    /// Reminders given up on after retrying (see `GET /api/v1/deliveries?status=failed`).
    pub failed: u64,
    /// The latest reminder delivery to it.
    pub latest: Option<LatestDelivery>,
}

/// A webhook's latest reminder delivery.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct LatestDelivery {
    /// The delivery (`GET /api/v1/deliveries`, `POST /api/v1/deliveries/{id}/retry`).
    pub id: Uuid,
    pub status: DeliveryStatus,
    /// Why its last attempt failed, if it did.
    pub last_error: Option<String>,
    /// Its last change: recorded, attempted, sent or given up.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// Each of the user's personal webhooks that has had reminder deliveries, with how they went.
pub async fn webhook_deliveries(
    store: &Store,
    user_id: Uuid,
) -> Result<std::collections::HashMap<Uuid, WebhookDeliveries>, sqlx::Error> {
    let (counts, latest) = match store.pool() {
        Pool::Postgres(p) => webhook_rows(p, user_id).await?,
        Pool::Sqlite(p) => webhook_rows(p, user_id).await?,
    };
    let mut by_webhook: std::collections::HashMap<Uuid, WebhookDeliveries> = Default::default();
    for (webhook, status, n) in counts {
        let entry = by_webhook.entry(webhook).or_default();
        let n = u64::try_from(n).unwrap_or(0);
        match DeliveryStatus::parse(&status) {
            Some(DeliveryStatus::Sent) => entry.sent += n,
            Some(DeliveryStatus::Failed) => entry.failed += n,
            _ => entry.pending += n,
        }
    }
    // Two deliveries changed in the same millisecond tie; the later id (UUIDv7: recorded later) wins.
    for (id, webhook, status, last_error, updated_at) in latest {
        let entry = by_webhook.entry(webhook).or_default();
        if entry.latest.as_ref().is_none_or(|l| l.id < id) {
            entry.latest = Some(LatestDelivery {
                id,
                status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Failed),
                last_error,
                at: at(updated_at),
            });
        }
    }
    Ok(by_webhook)
}

type LatestRow = (Uuid, Uuid, String, Option<String>, i64);

async fn webhook_rows<D: Dialect>(
    pool: &sqlx::Pool<D>,
    user_id: Uuid,
) -> Result<(Vec<(Uuid, String, i64)>, Vec<LatestRow>), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let counts = query_as(
        "SELECT webhook_id, status, COUNT(*) FROM worker_deliveries \
         WHERE user_id = $1 AND webhook_id IS NOT NULL GROUP BY webhook_id, status",
    )
    .bind(user_id)
    .fetch_all(&mut conn)
    .await?;
    let latest = query_as(
        "SELECT d.id, d.webhook_id, d.status, d.last_error, d.updated_at FROM worker_deliveries d \
         WHERE d.user_id = $1 AND d.webhook_id IS NOT NULL AND d.updated_at = \
         (SELECT MAX(e.updated_at) FROM worker_deliveries e WHERE e.webhook_id = d.webhook_id)",
    )
    .bind(user_id)
    .fetch_all(&mut conn)
    .await?;
    Ok((counts, latest))
}

/// What asking for a delivery to be retried did.
#[derive(Debug, Clone, PartialEq)]
pub enum Replay {
    /// Queued for an attempt now, with a fresh retry window.
    Queued(Delivery),
    /// It was sent already; nothing to do.
    AlreadySent(Delivery),
    /// Not one of the user's.
    NotFound,
}

/// Put a pending, retrying or failed delivery of the user's back in the notifier's queue, due now, with a
/// fresh retry window. The notifier (whichever replica claims it first) attempts it.
pub async fn replay(
    store: &Store,
    user_id: Uuid,
    id: Uuid,
    now: Timestamp,
) -> Result<Replay, sqlx::Error> {
    match store.pool() {
        Pool::Postgres(p) => requeue(p, user_id, id, now).await?,
        Pool::Sqlite(p) => requeue(p, user_id, id, now).await?,
    }
    Ok(match get(store, user_id, id).await? {
        None => Replay::NotFound,
        Some(d) if d.status == DeliveryStatus::Sent => Replay::AlreadySent(d),
        Some(d) => Replay::Queued(d),
    })
}

async fn requeue<D: Dialect>(
    pool: &sqlx::Pool<D>,
    user_id: Uuid,
    id: Uuid,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    query(
        "UPDATE worker_deliveries SET status = 'retrying', next_attempt_at = $1, retry_from = $1, updated_at = $1 \
         WHERE id = $2 AND user_id = $3 AND status <> 'sent' AND payload IS NOT NULL",
    )
    .bind(now.as_millisecond())
    .bind(id)
    .bind(user_id)
    .execute(&mut pool.acquire().await?)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(super::placeholders(3, 2), "$3, $4");
        assert_eq!(super::placeholders(2, 1), "$2");
    }
}
