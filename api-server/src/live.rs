//! Live task updates for browsers. Events from the task-updates topic (the in-process bus in dev mode, the
//! Dapr subscription in Kubernetes) are fanned out here to each user's Server-Sent Events streams.

use std::future::Future;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

/// One change as a browser sees it.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub user_id: Uuid,
    /// CloudEvent type, e.g. `todo.task.updated.v1`; the SSE event name.
    pub kind: String,
    /// The CloudEvent `data` (the task after the change).
    pub data: Arc<str>,
}

/// A bounded broadcast: a browser that falls behind misses events (and is told to refetch), it never
/// makes the server buffer without limit.
#[derive(Clone)]
pub struct LiveHub {
    tx: broadcast::Sender<LiveEvent>,
    /// Set once the server shuts down: open streams end, so graceful shutdown does not wait for
    /// browsers that would keep their event stream open forever.
    closing: Arc<watch::Sender<bool>>,
}

impl Default for LiveHub {
    fn default() -> Self {
        LiveHub {
            tx: broadcast::channel(1024).0,
            closing: Arc::new(watch::channel(false).0),
        }
    }
}

impl LiveHub {
    pub fn publish(&self, event: LiveEvent) {
        metrics::counter!("live_events_total").increment(1);
        // No subscribers is normal.
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.tx.subscribe()
    }

    /// End every open stream (the server is shutting down).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`LiveHub::close`] was called.
    pub fn closed(&self) -> impl Future<Output = ()> + Send + use<> {
        let mut closing = self.closing.subscribe();
        async move {
            // An error means the hub is gone, which also ends the stream.
            let _ = closing.wait_for(|closed| *closed).await;
        }
    }
}

/// Turn a task-updates CloudEvent into a live event for its owner.
/// `delivery`: the trace context the event arrived in, when not the event's own (see
/// `todo_events::trace::consumer_span`).
pub fn forward(
    hub: &LiveHub,
    event: &todo_core::events::CloudEvent,
    delivery: Option<todo_core::events::TraceContext>,
) {
    let _span = todo_events::trace::consumer_span(
        "live",
        todo_core::events::topic::TASK_UPDATES,
        event,
        delivery,
    )
    .entered();
    let Ok(user_id) = event.partitionkey.parse::<Uuid>() else {
        return;
    };
    hub.publish(LiveEvent {
        user_id,
        kind: event.kind.clone(),
        data: event.data.to_string().into(),
    });
}
