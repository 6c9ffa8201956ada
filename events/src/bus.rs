//! The in-process bus (dev mode): the same handlers Dapr would call, with the same contract — a handler
//! answers success, retry or drop; retries back off; after the configured attempts the event goes to the
//! topic's dead-letter subscribers. Delivery happens before `publish` returns, so the outbox relay marks a
//! row sent only once every consumer has had it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use todo_core::events::{CloudEvent, topic};

/// What a consumer made of an event (Dapr's SUCCESS / RETRY / DROP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Transient failure: deliver again later.
    Retry(String),
    /// Permanent failure: never deliver again (logged).
    Drop(String),
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;
pub type Handler = Arc<dyn Fn(CloudEvent) -> HandlerFuture + Send + Sync>;

/// Consumers by topic: (consumer name, handler).
type Subscribers = HashMap<String, Vec<(String, Handler)>>;

#[derive(Clone)]
pub struct InProcessBus {
    subscribers: Arc<RwLock<Subscribers>>,
    max_attempts: u32,
    first_backoff: Duration,
}

impl InProcessBus {
    pub fn new(max_attempts: u32, first_backoff: Duration) -> InProcessBus {
        InProcessBus {
            subscribers: Arc::default(),
            max_attempts: max_attempts.max(1),
            first_backoff,
        }
    }

    /// Register `handler` as consumer `name` of `topic` (a base topic name).
    pub fn subscribe(&self, topic: &str, name: &str, handler: Handler) {
        let mut subs = self.subscribers.write().unwrap_or_else(|e| e.into_inner());
        subs.entry(topic.to_owned())
            .or_default()
            .push((name.to_owned(), handler));
    }

    fn handlers(&self, topic: &str) -> Vec<(String, Handler)> {
        self.subscribers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(topic)
            .cloned()
            .unwrap_or_default()
    }

    /// Deliver to every consumer of `topic`.
    pub async fn publish(&self, topic: &str, event: CloudEvent) {
        for (name, handler) in self.handlers(topic) {
            let mut backoff = self.first_backoff;
            let mut attempt = 1;
            loop {
                match handler(event.clone()).await {
                    Outcome::Success => break,
                    Outcome::Drop(why) => {
                        tracing::warn!(consumer = %name, event_id = %event.id, reason = %why, "event dropped by consumer");
                        metrics::counter!("events_dropped_total", "consumer" => name.clone())
                            .increment(1);
                        break;
                    }
                    Outcome::Retry(why) if attempt >= self.max_attempts => {
                        tracing::error!(consumer = %name, event_id = %event.id, attempts = attempt, reason = %why,
                            "event dead-lettered after retries");
                        metrics::counter!("events_dead_lettered_total", "consumer" => name.clone())
                            .increment(1);
                        let dlq = topic::dead_letter(topic);
                        for (dead_name, dead_handler) in self.handlers(&dlq) {
                            if dead_handler(event.clone()).await != Outcome::Success {
                                tracing::error!(consumer = %dead_name, event_id = %event.id, "dead-letter consumer failed");
                            }
                        }
                        break;
                    }
                    Outcome::Retry(why) => {
                        tracing::debug!(consumer = %name, event_id = %event.id, attempt, reason = %why, "retrying event");
                        metrics::counter!("events_retried_total", "consumer" => name.clone())
                            .increment(1);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        attempt += 1;
                    }
                }
            }
        }
    }
}

/// Wrap an async closure as a handler.
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(CloudEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    Arc::new(move |e| Box::pin(f(e)))
}
