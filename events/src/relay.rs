//! The outbox relay: publishes committed events and removes them from the outbox.
//!
//! It runs in every process that writes events and wakes on the store's in-process signal after each such
//! commit, with a slow poll as a safety net (rows of a replica that stopped before relaying them, retries
//! coming due). A database `NOTIFY` per commit would serialize the committing transactions. Rows are
//! claimed with a lease, so several API replicas share the work without publishing a row twice at once,
//! and a replica that dies leaves nothing stuck. Within a batch, each partition key's (user's) events are
//! published in order, one round at a time, and different keys together: a round is one Dapr bulk request
//! per topic (or, on a sidecar without that API, concurrent single publishes), since a broker's
//! acknowledgement takes milliseconds and one publish at a time would cap the relay below the API's write
//! rate. On a publish failure that key stops (keeping its order) and everything left unpublished backs off
//! together: a down sidecar or broker costs retries, not events.

use crate::publish::{PublishError, Publisher};
use jiff::{SignedDuration, Timestamp};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use todo_core::Store;
use todo_core::store::OutboxRow;
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct RelaySettings {
    pub batch_size: u32,
    /// Single publishes in flight at once, where a round cannot go out in bulk (the in-process bus, a
    /// sidecar without Dapr's bulk publish API).
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
    // Every topic's series at zero from the start, so dashboards and alerts see a quiet outbox
    // rather than no data; registering the histogram renders its empty buckets.
    for topic in todo_core::events::topic::ALL {
        metrics::counter!("outbox_published_total", "topic" => topic).increment(0);
        metrics::counter!("outbox_publish_errors_total", "topic" => topic).increment(0);
    }
    let _ = metrics::histogram!("outbox_publish_delay_seconds");
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
    /// Events published (and removed from the outbox).
    pub published: usize,
    /// Set when a publish failed: how long until the unpublished rows are due again.
    pub backoff: Option<Duration>,
}

/// One claim-publish-remove pass. The claimed rows go out in rounds: each round takes the next row of every
/// partition key, so a round never holds two of one key's events and can go out in one (unordered) bulk
/// request per topic; a key whose row failed sits out the rest of the pass.
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
    let mut queues = by_partition_key(rows);
    let mut published: Vec<i64> = Vec::new();
    let mut failures: Vec<Failure> = Vec::new();
    while !queues.is_empty() {
        let round: Vec<(OutboxRow, VecDeque<OutboxRow>)> = queues
            .into_iter()
            .filter_map(|mut queue| queue.pop_front().map(|row| (row, queue)))
            .collect();
        let rows: Vec<&OutboxRow> = round.iter().map(|(row, _)| row).collect();
        let outcomes = publisher.publish_round(&rows, settings.concurrency).await;
        queues = Vec::with_capacity(round.len());
        for ((row, rest), outcome) in round.into_iter().zip(outcomes) {
            match outcome {
                Ok(()) => {
                    let delay =
                        (Timestamp::now().as_millisecond() - row.created_at).max(0) as f64 / 1000.0;
                    metrics::histogram!("outbox_publish_delay_seconds").record(delay);
                    metrics::counter!("outbox_published_total", "topic" => row.topic.clone())
                        .increment(1);
                    published.push(row.seq);
                    if !rest.is_empty() {
                        queues.push(rest);
                    }
                }
                Err(error) => {
                    metrics::counter!("outbox_publish_errors_total", "topic" => row.topic.clone())
                        .increment(1);
                    failures.push(Failure {
                        held: rest.into_iter().map(|r| r.seq).collect(),
                        row,
                        error,
                    });
                }
            }
        }
    }
    store.remove_published(&published).await?;
    let mut backoff_for: Option<Duration> = None;
    for Failure { row, error, held } in &failures {
        let wait = backoff(row.attempts, settings.max_backoff);
        let retry_at = Timestamp::now()
            + SignedDuration::try_from(wait).unwrap_or(SignedDuration::from_secs(1));
        tracing::warn!(error = %error, seq = row.seq, attempts = row.attempts, retry_in_ms = wait.as_millis() as u64, "publish failed");
        store
            .mark_failed(row.seq, &error.to_string(), retry_at)
            .await?;
        store.release_claims(held, retry_at).await?;
        backoff_for = backoff_for.max(Some(wait));
    }
    Ok(Pass {
        published: published.len(),
        backoff: backoff_for,
    })
}

/// The batch split by partition key, each key's rows queued in outbox order.
fn by_partition_key(rows: Vec<OutboxRow>) -> Vec<VecDeque<OutboxRow>> {
    let mut groups: Vec<VecDeque<OutboxRow>> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let i = *group_of
            .entry(row.partition_key.clone())
            .or_insert_with(|| {
                groups.push(VecDeque::new());
                groups.len() - 1
            });
        groups[i].push_back(row);
    }
    groups
}

/// A partition key's row whose publish failed, and the key's rows after it, left unpublished to keep order.
struct Failure {
    row: OutboxRow,
    error: PublishError,
    held: Vec<i64>,
}
