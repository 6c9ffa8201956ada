//! The event contract (DESIGN §5): CloudEvents 1.0 JSON, UUIDv7 ids, versioned types, subject = task id,
//! partition key = user id so one user's events stay in order.

use crate::model::Task;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
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
    /// CloudEvents distributed-tracing extension: the W3C trace context the event was created in, which
    /// consumers continue. Absent when the writer was not tracing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "empty_as_none"
    )]
    pub tracestate: Option<String>,
    /// Dapr's older name for `traceparent`, always equal to it. Dapr replaces an event's `traceparent`
    /// with its own publish span's unless the event has `traceid` (components-contrib's
    /// `pubsub.FromCloudEvent`), and in a bulk publish that span is the request's, shared by events of
    /// different traces; with `traceid` each event keeps its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceid: Option<String>,
    pub data: serde_json::Value,
}

/// A W3C trace context (`traceparent` and `tracestate` header values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub traceparent: String,
    pub tracestate: Option<String>,
}

static TRACE_CONTEXT: OnceLock<fn() -> Option<TraceContext>> = OnceLock::new();

/// Where new events take their trace context from: a binary that exports traces installs a function
/// reading the current span's. Without one (tracing off, tests) events carry none, at no cost.
pub fn set_trace_context_source(source: fn() -> Option<TraceContext>) {
    let _ = TRACE_CONTEXT.set(source);
}

/// Dapr writes `"tracestate": ""` when there is none.
fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
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
        let trace = TRACE_CONTEXT.get().and_then(|current| current());
        CloudEvent {
            specversion: todo_contract::cloud_event::SPEC_VERSION.into(),
            id: Uuid::now_v7(),
            source: source.into(),
            kind: kind.into(),
            subject: subject.to_string(),
            time,
            datacontenttype: todo_contract::cloud_event::DATA_CONTENT_TYPE.into(),
            partitionkey: user_id.to_string(),
            traceid: trace.as_ref().map(|t| t.traceparent.clone()),
            tracestate: trace.as_ref().and_then(|t| t.tracestate.clone()),
            traceparent: trace.map(|t| t.traceparent),
            data,
        }
    }

    /// The trace context the event carries, if any.
    pub fn trace_context(&self) -> Option<TraceContext> {
        self.traceparent.as_ref().map(|traceparent| TraceContext {
            traceparent: traceparent.clone(),
            tracestate: self.tracestate.clone(),
        })
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
