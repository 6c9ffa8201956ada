//! How a worker asks the API to change API-owned data (DESIGN §5: workers never write the API's tables).
//! In Kubernetes: Dapr service invocation of the API's internal routes. In dev mode: a direct call into the
//! same store the API uses, in the same process.

use jiff::Timestamp;
/// Internal API routes and bodies (called through Dapr; not exposed by the ingress).
use todo_contract::internal;
use todo_core::Store;
use todo_core::model::NextOccurrence;
use todo_events::dapr::{DaprClient, DaprError};
use uuid::Uuid;

#[derive(Clone)]
pub enum ApiClient {
    Direct(Store),
    Dapr { client: DaprClient, app_id: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ApiCallError {
    #[error(transparent)]
    Store(#[from] todo_core::StoreError),
    #[error(transparent)]
    Dapr(#[from] DaprError),
    #[error("unexpected API answer: {0}")]
    Decode(#[from] serde_json::Error),
}

impl ApiCallError {
    /// Whether repeating the call cannot help (the task or user is gone).
    pub fn is_permanent(&self) -> bool {
        match self {
            ApiCallError::Store(todo_core::StoreError::NotFound(_)) => true,
            ApiCallError::Dapr(DaprError::Status { status, .. }) => *status == 404,
            _ => false,
        }
    }
}

impl ApiClient {
    pub async fn next_occurrence(
        &self,
        user_id: Uuid,
        task_id: Uuid,
    ) -> Result<NextOccurrence, ApiCallError> {
        match self {
            ApiClient::Direct(store) => {
                let owner = store.owner(user_id).await?;
                Ok(store
                    .create_next_occurrence(&owner, task_id, Timestamp::now())
                    .await?)
            }
            ApiClient::Dapr { client, app_id } => {
                let body =
                    serde_json::to_value(internal::NextOccurrenceRequest { user_id, task_id })?;
                Ok(serde_json::from_value(
                    client
                        .invoke(app_id, internal::method(internal::NEXT_OCCURRENCE), &body)
                        .await?,
                )?)
            }
        }
    }

    /// Fire due reminders; returns how many fired.
    pub async fn fire_reminders(&self) -> Result<usize, ApiCallError> {
        match self {
            ApiClient::Direct(store) => {
                Ok(store.fire_due_reminders(Timestamp::now(), 500).await?.len())
            }
            ApiClient::Dapr { client, app_id } => {
                let v = client
                    .invoke(
                        app_id,
                        internal::method(internal::FIRE_REMINDERS),
                        &serde_json::json!({}),
                    )
                    .await?;
                Ok(serde_json::from_value::<internal::FireRemindersResponse>(v)
                    .map_or(0, |answer| answer.fired))
            }
        }
    }
}
