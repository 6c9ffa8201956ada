//! The transactional outbox. Changes write their events here in the same transaction; the relay (see
//! `todo-worker`'s `relay` module) claims rows with a lease, publishes them, and deletes them. A relay
//! that dies mid-batch leaves rows whose lease expires and another relay picks them up — nothing is lost,
//! and consumers de-duplicate by event id. The table holds only events still to publish: deleting a
//! published row writes far less than marking it (no new row version carrying the payload, no new index
//! entry), and nothing has to prune it later.

use crate::error::StoreResult;
use crate::events::CloudEvent;
use crate::store::{Store, encode_error, ms, on_pool};
use jiff::Timestamp;
use uuid::Uuid;

/// Insert `event` once per topic in the caller's transaction, in one statement. The caller wakes the relay
/// (`Store::outbox_wake`) after the commit.
macro_rules! insert_event {
    ($tx:expr, $store:expr, $event:expr, $topics:expr, $now:expr) => {{
        let event: &$crate::events::CloudEvent = $event;
        let topics: &[&str] = $topics;
        let payload = $crate::store::outbox::event_payload(event)?;
        let rows: Vec<String> = (0..topics.len()).map(|i| format!("($1, $2, $3, $4, ${}, $4)", i + 5)).collect();
        let sql = format!(
            "INSERT INTO outbox (event_id, partition_key, payload, created_at, topic, next_attempt_at) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(event.id).bind(&event.partitionkey).bind(&payload).bind($crate::store::ms($now));
        for t in topics {
            q = q.bind(*t);
        }
        q.execute(&mut *$tx).await?;
    }};
}
pub(crate) use insert_event;

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
        // The batch is chosen once, in a materialized CTE. As `WHERE seq IN (SELECT … LIMIT n FOR UPDATE SKIP
        // LOCKED)`, PostgreSQL may evaluate the subquery more than once: under load (10,000 writes while a
        // sidecar and the broker restarted) one claim took 4,256 rows with a limit of 200, in 18 s, holding
        // leases it could not publish within.
        let (materialized, lock) = if self.is_postgres() {
            ("MATERIALIZED ", " FOR UPDATE SKIP LOCKED")
        } else {
            ("", "")
        };
        let sql = format!(
            "WITH batch AS {materialized}(SELECT seq FROM outbox \
             WHERE next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) \
             ORDER BY seq LIMIT $3{lock}) \
             UPDATE outbox SET claimed_until = $1, attempts = attempts + 1 WHERE seq IN (SELECT seq FROM batch) \
             RETURNING seq, event_id, topic, partition_key, payload, attempts, created_at"
        );
        let mut rows: Vec<OutboxRow> = on_pool!(self, p => {
            sqlx::query_as(&sql).bind(ms(now) + lease_ms).bind(ms(now)).bind(i64::from(limit)).fetch_all(p).await?
        });
        rows.sort_by_key(|r| r.seq);
        Ok(rows)
    }

    /// Remove published rows.
    pub async fn remove_published(&self, seqs: &[i64]) -> StoreResult<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        let sql = format!("DELETE FROM outbox WHERE {}", self.seq_in_list("$1"));
        let seqs = self.seq_list(seqs);
        on_pool!(self, p => {
            sqlx::query(&sql).bind(&seqs).execute(p).await?;
        });
        Ok(())
    }

    /// Record a failed attempt and when to retry.
    pub async fn mark_failed(&self, seq: i64, error: &str, retry_at: Timestamp) -> StoreResult<()> {
        let error: String = error.chars().take(1000).collect();
        on_pool!(self, p => {
            sqlx::query("UPDATE outbox SET claimed_until = NULL, last_error = $1, next_attempt_at = $2 WHERE seq = $3")
                .bind(error).bind(ms(retry_at)).bind(seq).execute(p).await?;
        });
        Ok(())
    }

    /// Give claimed rows back without counting an attempt (the relay stopped a batch to keep order).
    pub async fn release_claims(&self, seqs: &[i64], retry_at: Timestamp) -> StoreResult<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE outbox SET claimed_until = NULL, attempts = attempts - 1, next_attempt_at = $1 WHERE {}",
            self.seq_in_list("$2")
        );
        let seqs = self.seq_list(seqs);
        on_pool!(self, p => {
            sqlx::query(&sql).bind(ms(retry_at)).bind(&seqs).execute(p).await?;
        });
        Ok(())
    }

    /// `seq` is in the list bound at `param` (see `seq_list`). One list parameter instead of a placeholder
    /// per row keeps the statement text fixed, so each connection prepares it once: with a placeholder per
    /// row, every batch size was a new statement to parse, plan and later evict from the statement cache.
    fn seq_in_list(&self, param: &str) -> String {
        if self.is_postgres() {
            format!("seq = ANY({param}::bigint[])")
        } else {
            format!("seq IN (SELECT value FROM json_each({param}))")
        }
    }

    /// Sequence numbers as one text parameter: an array literal for PostgreSQL, a JSON array for SQLite.
    fn seq_list(&self, seqs: &[i64]) -> String {
        let items = seqs
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        if self.is_postgres() {
            format!("{{{items}}}")
        } else {
            format!("[{items}]")
        }
    }

    pub async fn outbox_backlog(&self) -> StoreResult<OutboxBacklog> {
        let (pending, oldest): (i64, Option<i64>) = on_pool!(self, p => {
            sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox").fetch_one(p).await?
        });
        Ok(OutboxBacklog {
            pending,
            oldest_created_ms: oldest,
        })
    }
}
