//! The transactional outbox. Changes write their events here in the same transaction; the relay (see
//! `todo-worker`'s `relay` module) claims rows with a lease, publishes them, and deletes them. A relay
//! that dies mid-batch leaves rows whose lease expires and another relay picks them up — nothing is lost,
//! and consumers de-duplicate by event id. The table holds only events still to publish: deleting a
//! published row writes far less than marking it (no new row version carrying the payload, no new index
//! entry), and nothing has to prune it later.

use crate::error::StoreResult;
use crate::events::{CloudEvent, topic};
use crate::model::Task;
use crate::store::dialect::{Conn, Dialect, query, query_as};
use crate::store::rows::Owner;
use crate::store::{Pool, Store, encode_error, ms};
use jiff::Timestamp;
use uuid::Uuid;

/// The topics every task change is published to: consumers' `task-events` and live views' `task-updates`.
pub(crate) const TASK_EVENT_TOPICS: [&str; 2] = [topic::TASK_EVENTS, topic::TASK_UPDATES];

impl Store {
    /// An event for the owner's open tabs only (task-updates: no worker reads it), about `subject`,
    /// written in the caller's transaction. The caller wakes the relay after the commit.
    pub(crate) async fn emit_live_event<D: Dialect>(
        &self,
        on: &mut impl Conn<D>,
        owner: &Owner,
        kind: &str,
        subject: Uuid,
        data: &impl serde::Serialize,
        now: Timestamp,
    ) -> StoreResult<()> {
        let data = serde_json::to_value(data).map_err(encode_error)?;
        let event = CloudEvent::new(self.event_source(), kind, subject, owner.id, now, data);
        insert_event(on, &event, &[topic::TASK_UPDATES], now).await
    }
}

/// Insert `event` once per topic in the caller's transaction, in one statement. The caller wakes the relay
/// (`Store::outbox_wake`) after the commit.
pub(crate) async fn insert_event<D: Dialect>(
    on: &mut impl Conn<D>,
    event: &CloudEvent,
    topics: &[&str],
    now: Timestamp,
) -> StoreResult<()> {
    let payload = event_payload(event)?;
    let rows: Vec<String> = (0..topics.len())
        .map(|i| format!("($1, $2, $3, $4, ${}, $4, $5, $6)", i + 7))
        .collect();
    let sql = format!(
        "INSERT INTO outbox (event_id, partition_key, payload, created_at, topic, next_attempt_at, traceparent, tracestate) \
         VALUES {}",
        rows.join(", ")
    );
    let mut q = query(&sql)
        .bind(event.id)
        .bind(&event.partitionkey)
        .bind(&payload)
        .bind(ms(now))
        .bind(&event.traceparent)
        .bind(&event.tracestate);
    for t in topics {
        q = q.bind(*t);
    }
    q.execute(on).await?;
    Ok(())
}

impl Store {
    /// The CloudEvent of a task change, as written to the outbox.
    pub(crate) fn task_event(
        &self,
        owner: &Owner,
        kind: &str,
        task: &Task,
        changed: Vec<String>,
        now: Timestamp,
    ) -> StoreResult<CloudEvent> {
        let data = crate::events::TaskEventData {
            task: task.clone(),
            user: owner.event_user(),
            changed,
        };
        let data = serde_json::to_value(&data).map_err(encode_error)?;
        Ok(CloudEvent::new(
            self.event_source(),
            kind,
            task.id,
            owner.id,
            now,
            data,
        ))
    }

    /// Write the task's events (task-events for consumers, task-updates for live views) in the caller's
    /// transaction.
    pub(crate) async fn emit_task_event<D: Dialect>(
        &self,
        on: &mut impl Conn<D>,
        owner: &Owner,
        kind: &str,
        task: &Task,
        changed: Vec<String>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let event = self.task_event(owner, kind, task, changed, now)?;
        insert_event(on, &event, &TASK_EVENT_TOPICS, now).await
    }
}

/// An event as its outbox row carries it.
pub(crate) fn event_payload(event: &CloudEvent) -> StoreResult<String> {
    serde_json::to_string(event).map_err(encode_error)
}

/// A claimed outbox row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub seq: i64,
    pub event_id: Uuid,
    /// Base topic name (unprefixed).
    pub topic: String,
    pub partition_key: String,
    /// The CloudEvent JSON.
    pub payload: String,
    /// Publish attempts including this one.
    pub attempts: i32,
    pub created_at: i64,
    /// The W3C trace context the event was written in.
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

/// Backlog for the lag metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    pub pending: i64,
    pub oldest_created_ms: Option<i64>,
}

impl Store {
    /// Claim up to `limit` publishable rows for `lease_ms`, oldest first.
    pub async fn claim_outbox(
        &self,
        now: Timestamp,
        limit: u32,
        lease_ms: i64,
    ) -> StoreResult<Vec<OutboxRow>> {
        let mut rows = match &self.pool {
            Pool::Postgres(p) => claim(p, now, limit, lease_ms).await?,
            Pool::Sqlite(p) => claim(p, now, limit, lease_ms).await?,
        };
        rows.sort_by_key(|r| r.seq);
        Ok(rows)
    }

    /// Remove published rows.
    pub async fn remove_published(&self, seqs: &[i64]) -> StoreResult<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        match &self.pool {
            Pool::Postgres(p) => remove_published(p, seqs).await,
            Pool::Sqlite(p) => remove_published(p, seqs).await,
        }
    }

    /// Record a failed attempt and when to retry.
    pub async fn mark_failed(&self, seq: i64, error: &str, retry_at: Timestamp) -> StoreResult<()> {
        let error: String = error.chars().take(1000).collect();
        match &self.pool {
            Pool::Postgres(p) => mark_failed(p, seq, error, retry_at).await,
            Pool::Sqlite(p) => mark_failed(p, seq, error, retry_at).await,
        }
    }

    /// Give claimed rows back without counting an attempt (the relay stopped a batch to keep order).
    pub async fn release_claims(&self, seqs: &[i64], retry_at: Timestamp) -> StoreResult<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        match &self.pool {
            Pool::Postgres(p) => release_claims(p, seqs, retry_at).await,
            Pool::Sqlite(p) => release_claims(p, seqs, retry_at).await,
        }
    }

    pub async fn outbox_backlog(&self) -> StoreResult<OutboxBacklog> {
        let (pending, oldest) = match &self.pool {
            Pool::Postgres(p) => backlog(p).await?,
            Pool::Sqlite(p) => backlog(p).await?,
        };
        Ok(OutboxBacklog {
            pending,
            oldest_created_ms: oldest,
        })
    }
}

async fn claim<D: Dialect>(
    pool: &sqlx::Pool<D>,
    now: Timestamp,
    limit: u32,
    lease_ms: i64,
) -> StoreResult<Vec<OutboxRow>> {
    Ok(query_as(D::CLAIM_OUTBOX)
        .bind(ms(now) + lease_ms)
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut pool.acquire().await?)
        .await?)
}

async fn remove_published<D: Dialect>(pool: &sqlx::Pool<D>, seqs: &[i64]) -> StoreResult<()> {
    query(D::REMOVE_PUBLISHED)
        .bind(D::seq_list(seqs))
        .execute(&mut pool.acquire().await?)
        .await?;
    Ok(())
}

async fn mark_failed<D: Dialect>(
    pool: &sqlx::Pool<D>,
    seq: i64,
    error: String,
    retry_at: Timestamp,
) -> StoreResult<()> {
    query("UPDATE outbox SET claimed_until = NULL, last_error = $1, next_attempt_at = $2 WHERE seq = $3")
        .bind(error)
        .bind(ms(retry_at))
        .bind(seq)
        .execute(&mut pool.acquire().await?)
        .await?;
    Ok(())
}

async fn release_claims<D: Dialect>(
    pool: &sqlx::Pool<D>,
    seqs: &[i64],
    retry_at: Timestamp,
) -> StoreResult<()> {
    query(D::RELEASE_CLAIMS)
        .bind(ms(retry_at))
        .bind(D::seq_list(seqs))
        .execute(&mut pool.acquire().await?)
        .await?;
    Ok(())
}

async fn backlog<D: Dialect>(pool: &sqlx::Pool<D>) -> StoreResult<(i64, Option<i64>)> {
    Ok(query_as("SELECT COUNT(*), MIN(created_at) FROM outbox")
        .fetch_one(&mut pool.acquire().await?)
        .await?)
}
