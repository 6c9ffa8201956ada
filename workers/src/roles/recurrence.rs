//! recurrence: when a recurring task's occurrence is completed, ask the API for the next one. The API's
//! operation is idempotent per completed occurrence, so redelivery creates nothing twice.

use crate::api_client::ApiClient;
use todo_core::events::{CloudEvent, TaskEventData, kind};
use todo_events::bus::Outcome;

pub async fn handle(api: &ApiClient, event: &CloudEvent) -> Outcome {
    if event.kind != kind::TASK_COMPLETED {
        return Outcome::Success;
    }
    let data: TaskEventData = match serde_json::from_value(event.data.clone()) {
        Ok(d) => d,
        Err(e) => return Outcome::Drop(format!("malformed task event: {e}")),
    };
    if data.task.recurrence.is_none() {
        return Outcome::Success;
    }
    match api.next_occurrence(data.user.id, data.task.id).await {
        Ok(next) => {
            if next.created {
                metrics::counter!("recurrence_occurrences_created_total").increment(1);
            }
            Outcome::Success
        }
        Err(e) if e.is_permanent() => Outcome::Drop(e.to_string()),
        Err(e) => Outcome::Retry(e.to_string()),
    }
}
