//! The event contract (DESIGN §5): CloudEvents 1.0 JSON, UUIDv7 ids, versioned types, subject = task id,
//! partition key = user id so one user's events stay in order.

use crate::model::Task;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Base topic names; deployments prefix them (`TODO_TOPIC_PREFIX`) to keep platforms apart.
pub mod topic {
    pub const TASK_EVENTS: &str = "task-events";
    pub const REMINDERS: &str = "reminders";
    pub const TASK_UPDATES: &str = "task-updates";
    pub const ALL: [&str; 3] = [TASK_EVENTS, REMINDERS, TASK_UPDATES];

    /// The dead-letter topic of `base`.
    pub fn dead_letter(base: &str) -> String {
        format!("{base}-dlq")
    }
}

pub mod kind {
    pub const TASK_CREATED: &str = "todo.task.created.v1";
    pub const TASK_UPDATED: &str = "todo.task.updated.v1";
    pub const TASK_COMPLETED: &str = "todo.task.completed.v1";
    pub const TASK_REOPENED: &str = "todo.task.reopened.v1";
    pub const TASK_DELETED: &str = "todo.task.deleted.v1";
    pub const REMINDER_DUE: &str = "todo.reminder.due.v1";
}

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
            specversion: "1.0".into(),
            id: Uuid::now_v7(),
            source: source.into(),
            kind: kind.into(),
            subject: subject.to_string(),
            time,
            datacontenttype: "application/json".into(),
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

/// Payload of `todo.reminder.due.v1`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReminderDueData {
    pub reminder_id: Uuid,
    pub fire_at: Timestamp,
    pub task: Task,
    pub user: EventUser,
}
