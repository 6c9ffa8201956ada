//! Where the relay sends events: the Dapr sidecar (Kubernetes) or the in-process bus (dev mode).

use crate::bus::InProcessBus;
use crate::dapr::{BulkEntry, DaprClient, DaprError};
use futures_util::StreamExt;
use std::collections::HashMap;
use todo_core::events::CloudEvent;
use todo_core::store::OutboxRow;

#[derive(Clone)]
pub enum Publisher {
    Dapr {
        client: DaprClient,
        pubsub: String,
        topic_prefix: String,
    },
    InProcess(InProcessBus),
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Dapr(#[from] DaprError),
    #[error("outbox row is not a CloudEvent: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("dapr did not deliver the event: {0}")]
    NotDelivered(String),
}

impl Publisher {
    /// Publish one outbox payload to `topic` (a base name; Dapr topics get the platform's prefix).
    pub async fn publish(
        &self,
        topic: &str,
        partition_key: &str,
        payload: &str,
    ) -> Result<(), PublishError> {
        match self {
            Publisher::Dapr {
                client,
                pubsub,
                topic_prefix,
            } => Ok(client
                .publish(
                    pubsub,
                    &format!("{topic_prefix}{topic}"),
                    partition_key,
                    payload,
                )
                .await?),
            Publisher::InProcess(bus) => {
                let event: CloudEvent = serde_json::from_str(payload)?;
                bus.publish(topic, event).await;
                Ok(())
            }
        }
    }

    /// Publish one round of outbox rows — at most one per partition key, so their order does not matter —
    /// and say, row by row, which were delivered. Through Dapr, the round goes out as one bulk request per
    /// topic; a sidecar without the bulk API gets single publishes, `concurrency` at a time.
    pub async fn publish_round(
        &self,
        rows: &[&OutboxRow],
        concurrency: usize,
    ) -> Vec<Result<(), PublishError>> {
        match self {
            Publisher::Dapr {
                client,
                pubsub,
                topic_prefix,
            } if client.bulk_supported() => {
                match publish_bulk(client, pubsub, topic_prefix, rows).await {
                    Some(outcomes) => outcomes,
                    None => {
                        tracing::info!(
                            "the dapr sidecar has no bulk publish API; publishing events one by one"
                        );
                        self.publish_each(rows, concurrency).await
                    }
                }
            }
            _ => self.publish_each(rows, concurrency).await,
        }
    }

    async fn publish_each(
        &self,
        rows: &[&OutboxRow],
        concurrency: usize,
    ) -> Vec<Result<(), PublishError>> {
        let publishes: Vec<_> = rows
            .iter()
            .map(|row| self.publish(&row.topic, &row.partition_key, &row.payload))
            .collect();
        futures_util::stream::iter(publishes)
            .buffered(concurrency.max(1))
            .collect()
            .await
    }
}

/// One bulk request per topic, concurrently; `None` when the sidecar has no bulk API.
async fn publish_bulk(
    client: &DaprClient,
    pubsub: &str,
    topic_prefix: &str,
    rows: &[&OutboxRow],
) -> Option<Vec<Result<(), PublishError>>> {
    let mut outcomes: Vec<Result<(), PublishError>> = (0..rows.len()).map(|_| Ok(())).collect();
    let entry_ids: Vec<String> = rows.iter().map(|r| r.seq.to_string()).collect();
    let mut by_topic: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        // A payload that is not JSON would break the whole request: it fails alone.
        match serde_json::from_str::<serde::de::IgnoredAny>(&row.payload) {
            Ok(_) => by_topic.entry(row.topic.as_str()).or_default().push(i),
            Err(e) => outcomes[i] = Err(PublishError::Corrupt(e)),
        }
    }
    let entry_ids = &entry_ids;
    let requests: Vec<_> = by_topic
        .into_iter()
        .map(|(topic, indices)| async move {
            let entries: Vec<BulkEntry<'_>> = indices
                .iter()
                .map(|&i| BulkEntry {
                    entry_id: &entry_ids[i],
                    partition_key: &rows[i].partition_key,
                    cloud_event: &rows[i].payload,
                })
                .collect();
            let result = client
                .publish_bulk(pubsub, &format!("{topic_prefix}{topic}"), &entries)
                .await;
            (indices, result)
        })
        .collect();
    for (indices, result) in futures_util::future::join_all(requests).await {
        match result {
            Ok(failed) => {
                let failed: HashMap<&str, &str> = failed
                    .iter()
                    .map(|f| (f.entry_id.as_str(), f.error.as_str()))
                    .collect();
                for i in indices {
                    if let Some(error) = failed.get(entry_ids[i].as_str()) {
                        outcomes[i] = Err(PublishError::NotDelivered((*error).to_owned()));
                    }
                }
            }
            Err(DaprError::BulkUnsupported) => return None,
            Err(e) => {
                let error = e.to_string();
                for i in indices {
                    outcomes[i] = Err(PublishError::NotDelivered(error.clone()));
                }
            }
        }
    }
    Some(outcomes)
}
