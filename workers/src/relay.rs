//! The outbox relay: publishes committed events and marks them sent.
//!
//! It runs in every process that writes events and wakes on the store's in-process signal after each such
//! commit, with a slow poll as a safety net (rows of a replica that stopped before relaying them, retries
//! coming due). A database `NOTIFY` per commit would serialize the committing transactions. Rows are
//! claimed with a lease, so several API replicas share the work without publishing a row twice at once,
//! and a replica that dies leaves nothing stuck. Within a batch, each partition key's (user's) events are published one at a
//! time and in order, and different keys concurrently: a broker's acknowledgement takes milliseconds, so one
//! publish at a time would cap the relay below the API's write rate. On a publish failure that key stops
//! (keeping its order) and everything left unpublished backs off together: a down sidecar or broker costs
//! retries, not events.

use crate::publish::{PublishError, Publisher};
use futures_util::StreamExt;
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::time::Duration;
use todo_core::Store;
use todo_core::store::OutboxRow;
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct RelaySettings {
    pub batch_size: u32,
    /// Partition keys published concurrently within a batch.
    pub concurrency: usize,
    pub lease: Duration,
    /// Safety-net poll interval.
    pub idle_poll: Duration,
    pub max_backoff: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        RelaySettings {
            batch_size: 200,
            concurrency: 16,
            lease: Duration::from_secs(30),
            idle_poll: Duration::from_secs(2),
            max_backoff: Duration::from_secs(30),
        }
    }
}

pub fn backoff(attempts: i32, max: Duration) -> Duration {
    let exp = Duration::from_millis(200).saturating_mul(1u32 << attempts.clamp(0, 16) as u32);
    let capped = exp.min(max);
    // Jitter (±20%) keeps replicas from retrying in lockstep.
    let jitter = 0.8 + 0.4 * rand_fraction();
    capped.mul_f64(jitter)
}

fn rand_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}

/// Run until `shutdown` flips to true.
pub async fn run(
    store: Store,
    publisher: Publisher,
    settings: RelaySettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let wake = store.outbox_wake();
    tracing::info!("outbox relay started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let pass = match relay_once(&store, &publisher, &settings).await {
            Ok(pass) => pass,
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay pass failed");
                Pass::default()
            }
        };
        if let Some(wait) = pass.backoff {
            // Sit out the backoff even when new commits wake us: claiming the newer rows now would publish
            // them ahead of the failed ones and break per-user order.
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        if pass.published > 0 {
            continue;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(settings.idle_poll) => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!("outbox relay stopped");
}

/// What one relay pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Events published and marked sent.
    pub published: usize,
    /// Set when a publish failed: how long until the unpublished rows are due again.
    pub backoff: Option<Duration>,
}

/// One claim-publish-mark pass.
pub async fn relay_once(
    store: &Store,
    publisher: &Publisher,
    settings: &RelaySettings,
) -> Result<Pass, todo_core::StoreError> {
    let now = Timestamp::now();
    let lease_ms = i64::try_from(settings.lease.as_millis()).unwrap_or(30_000);
    let rows = store
        .claim_outbox(now, settings.batch_size, lease_ms)
        .await?;
    let outcomes: Vec<KeyOutcome> = futures_util::stream::iter(by_partition_key(rows))
        .map(|key_rows| publish_in_order(publisher, key_rows))
        .buffer_unordered(settings.concurrency.max(1))
        .collect()
        .await;
    let published: Vec<i64> = outcomes
        .iter()
        .flat_map(|o| o.published.iter().copied())
        .collect();
    store.mark_published(&published, Timestamp::now()).await?;
    let mut backoff_for: Option<Duration> = None;
    for outcome in &outcomes {
        let Some((row, error)) = &outcome.failed else {
            continue;
        };
        let wait = backoff(row.attempts, settings.max_backoff);
        let retry_at = Timestamp::now()
            + SignedDuration::try_from(wait).unwrap_or(SignedDuration::from_secs(1));
        tracing::warn!(error = %error, seq = row.seq, attempts = row.attempts, retry_in_ms = wait.as_millis() as u64, "publish failed");
        store
            .mark_failed(row.seq, &error.to_string(), retry_at)
            .await?;
        store.release_claims(&outcome.held, retry_at).await?;
        backoff_for = backoff_for.max(Some(wait));
    }
    Ok(Pass {
        published: published.len(),
        backoff: backoff_for,
    })
}

/// The batch split by partition key, each key's rows in outbox order.
fn by_partition_key(rows: Vec<OutboxRow>) -> Vec<Vec<OutboxRow>> {
    let mut groups: Vec<Vec<OutboxRow>> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let i = *group_of
            .entry(row.partition_key.clone())
            .or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
        groups[i].push(row);
    }
    groups
}

/// What publishing one partition key's rows did.
struct KeyOutcome {
    published: Vec<i64>,
    /// The row whose publish failed, and why.
    failed: Option<(OutboxRow, PublishError)>,
    /// Rows after the failed one, left unpublished to keep the key's order.
    held: Vec<i64>,
}

async fn publish_in_order(publisher: &Publisher, rows: Vec<OutboxRow>) -> KeyOutcome {
    let mut published = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter();
    while let Some(row) = rows.next() {
        match publisher
            .publish(&row.topic, &row.partition_key, &row.payload)
            .await
        {
            Ok(()) => {
                let delay =
                    (Timestamp::now().as_millisecond() - row.created_at).max(0) as f64 / 1000.0;
                metrics::histogram!("outbox_publish_delay_seconds").record(delay);
                metrics::counter!("outbox_published_total", "topic" => row.topic.clone())
                    .increment(1);
                published.push(row.seq);
            }
            Err(e) => {
                metrics::counter!("outbox_publish_errors_total", "topic" => row.topic.clone())
                    .increment(1);
                return KeyOutcome {
                    published,
                    held: rows.map(|r| r.seq).collect(),
                    failed: Some((row, e)),
                };
            }
        }
    }
    KeyOutcome {
        published,
        failed: None,
        held: Vec::new(),
    }
}
