//! The event contract (DESIGN §5): CloudEvents 1.0 JSON, UUIDv7 ids, versioned types, subject = task id,
//! partition key = user id so one user's events stay in order.

use crate::model::Task;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Base topic names and event types: the contract's (`todo-contract`), re-exported where they always were.
pub use todo_contract::{kind, topic};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CloudEvent {
    pub specversion: String,
    pub id: Uuid,
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub time: Timestamp,
    pub datacontenttype: String,
    /// CloudEvents partitioning extension: the user id.
    pub partitionkey: String,
    pub data: serde_json::Value,
}

impl CloudEvent {
    pub fn new(
        source: &str,
        kind: &str,
        subject: Uuid,
        user_id: Uuid,
        time: Timestamp,
        data: serde_json::Value,
    ) -> Self {
        CloudEvent {
            specversion: todo_contract::cloud_event::SPEC_VERSION.into(),
            id: Uuid::now_v7(),
            source: source.into(),
            kind: kind.into(),
            subject: subject.to_string(),
            time,
            datacontenttype: todo_contract::cloud_event::DATA_CONTENT_TYPE.into(),
            partitionkey: user_id.to_string(),
            data,
        }
    }
}

/// The owner as consumers need them, so they never call back for it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventUser {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub time_zone: String,
}

/// Payload of every `todo.task.*` event: the task as it is after the change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskEventData {
    pub task: Task,
    pub user: EventUser,
    /// Top-level field names that changed (updates only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

/// Payload of `todo.project.changed.v1`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProjectChangedData {
    pub project_id: Uuid,
    /// Whether it was deleted (otherwise read it again for what changed).
    pub deleted: bool,
}

/// Payload of `todo.reminder.dismissed.v1`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReminderDismissedData {
    pub reminder_id: Uuid,
    pub task_id: Uuid,
}

/// Payload of `todo.reminder.due.v1`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReminderDueData {
    pub reminder_id: Uuid,
    pub fire_at: Timestamp,
    pub task: Task,
    pub user: EventUser,
}
