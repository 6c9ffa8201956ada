//! Where the relay sends events: the Dapr sidecar (Kubernetes) or the in-process bus (dev mode).

use crate::bus::InProcessBus;
use crate::dapr::{DaprClient, DaprError};
use todo_core::events::CloudEvent;

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
}
