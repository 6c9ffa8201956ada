//! Where the relay sends events: the Dapr sidecar (Kubernetes) or the in-process bus (dev mode).

use crate::bus::InProcessBus;
use crate::dapr::{BulkEntry, DaprClient, DaprError};
use crate::trace;
use futures_util::StreamExt;
use std::collections::HashMap;
use todo_core::events::{CloudEvent, TraceContext};
use todo_core::store::OutboxRow;
use tracing::{Instrument, Span};

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
        let spans: Vec<Span> = rows.iter().map(|row| publish_span(row)).collect();
        let outcomes = self.publish_rows(rows, &spans, concurrency).await;
        for (span, outcome) in spans.iter().zip(&outcomes) {
            if let Err(e) = outcome {
                span.record("otel.status_code", "ERROR");
                span.record("otel.status_description", e.to_string());
            }
        }
        outcomes
    }

    async fn publish_rows(
        &self,
        rows: &[&OutboxRow],
        spans: &[Span],
        concurrency: usize,
    ) -> Vec<Result<(), PublishError>> {
        match self {
            Publisher::Dapr {
                client,
                pubsub,
                topic_prefix,
            } if client.bulk_supported() => {
                match publish_bulk(client, pubsub, topic_prefix, rows, spans).await {
                    Some(outcomes) => outcomes,
                    None => {
                        tracing::info!(
                            "the dapr sidecar has no bulk publish API; publishing events one by one"
                        );
                        self.publish_each(rows, spans, concurrency).await
                    }
                }
            }
            _ => self.publish_each(rows, spans, concurrency).await,
        }
    }

    /// Each publish runs in its row's span, so the sidecar gets that span as its `traceparent` header.
    async fn publish_each(
        &self,
        rows: &[&OutboxRow],
        spans: &[Span],
        concurrency: usize,
    ) -> Vec<Result<(), PublishError>> {
        let publishes: Vec<_> = rows
            .iter()
            .zip(spans)
            .map(|(row, span)| {
                self.publish(&row.topic, &row.partition_key, &row.payload)
                    .instrument(span.clone())
            })
            .collect();
        futures_util::stream::iter(publishes)
            .buffered(concurrency.max(1))
            .collect()
            .await
    }
}

/// The span of publishing one outbox row, a child of the context the event was written in; none for a
/// row written untraced, which would otherwise start a trace per event.
fn publish_span(row: &OutboxRow) -> Span {
    let Some(traceparent) = row.traceparent.clone().filter(|_| trace::enabled()) else {
        return Span::none();
    };
    let span = tracing::info_span!(
        parent: None,
        "publish",
        otel.name = format!("publish {}", row.topic),
        otel.kind = "producer",
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
        messaging.destination.name = %row.topic,
        messaging.message.id = %row.event_id,
    );
    trace::set_parent(
        &span,
        &TraceContext {
            traceparent,
            tracestate: row.tracestate.clone(),
        },
    );
    span
}

/// One bulk request per topic, concurrently; `None` when the sidecar has no bulk API. Each event keeps its
/// own trace context in the request (see `CloudEvent::traceid`); a request of one event also runs in that
/// event's span, so the sidecar's spans join its trace, while one of several events from different traces
/// sends no `traceparent` header.
async fn publish_bulk(
    client: &DaprClient,
    pubsub: &str,
    topic_prefix: &str,
    rows: &[&OutboxRow],
    spans: &[Span],
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
            let span = match indices[..] {
                [only] => spans[only].clone(),
                _ => Span::none(),
            };
            let result = client
                .publish_bulk(pubsub, &format!("{topic_prefix}{topic}"), &entries)
                .instrument(span)
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
