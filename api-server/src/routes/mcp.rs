//! MCP (Model Context Protocol) endpoint for AI assistants: JSON-RPC 2.0 over the Streamable HTTP
//! transport at `POST /mcp`, authenticated with the same bearer tokens as the REST API (a login session or
//! a personal access token). The tools call the same store operations as the REST handlers, so
//! validation, scoping and events are identical. A read-only access token sees and calls only the tools
//! that change nothing.

use crate::auth::{Credential, ScopedAuth, read_only_token};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use todo_core::StoreError;
use todo_core::domain::filter::TaskQueryParams;
use todo_core::domain::quick_add::QuickAddInput;
use todo_core::domain::reminder::SnoozeInput;
use todo_core::model::{NewTask, ProjectInput, ProjectListParams, TaskPatch};
use todo_core::store::Owner;
use todo_worker::deliveries;
use uuid::Uuid;

use crate::routes::deliveries::{DeliveryQueryParams, attach, retry, with_deliveries};

pub const PROTOCOL_VERSION: &str = "2025-06-18";

// JSON-RPC 2.0 error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

#[derive(Deserialize)]
struct RpcRequest {
    jsonrpc: String,
    id: Option<Value>,
    method: String,
    #[serde(default)]
    params: Value,
}

fn rpc_error(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

/// `POST /mcp`: one JSON-RPC message in, one JSON answer out (notifications get 202 and no body).
pub async fn handle(
    State(s): State<AppState>,
    ScopedAuth(owner, credential): ScopedAuth,
    body: Bytes,
) -> Response {
    let req: RpcRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) if serde_json::from_slice::<Value>(&body).is_ok() => {
            return Json(rpc_error(
                Value::Null,
                INVALID_REQUEST,
                format!("not a JSON-RPC request: {e}"),
            ))
            .into_response();
        }
        Err(e) => {
            return Json(rpc_error(
                Value::Null,
                PARSE_ERROR,
                format!("parse error: {e}"),
            ))
            .into_response();
        }
    };
    if req.jsonrpc != "2.0" {
        return Json(rpc_error(
            req.id.unwrap_or(Value::Null),
            INVALID_REQUEST,
            "jsonrpc must be \"2.0\"",
        ))
        .into_response();
    }
    let Some(id) = req.id else {
        // Notifications (e.g. notifications/initialized) need no answer.
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match req.method.as_str() {
        "initialize" => Ok(json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {"name": "todoplatform", "title": "TodoPlatform", "version": env!("CARGO_PKG_VERSION")},
            "instructions": "Manage the signed-in user's tasks. Dates are in the user's time zone; due accepts YYYY-MM-DD or YYYY-MM-DDTHH:MM.",
        })),
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({"tools": tools_for(credential)})),
        "tools/call" => call_tool(&s, &owner, credential, req.params).await,
        other => Err((METHOD_NOT_FOUND, format!("unknown method {other}"))),
    };
    match result {
        Ok(result) => Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response(),
        Err((code, message)) => Json(rpc_error(id, code, message)).into_response(),
    }
}

/// `GET /mcp` would open a server-initiated event stream; this server sends none.
pub async fn no_stream() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this MCP server has no server-initiated stream; POST JSON-RPC",
    )
}

/// The tools that change something: a read-only access token may not call them.
const WRITING_TOOLS: [&str; 9] = [
    "create_task",
    "create_project",
    "update_task",
    "complete_task",
    "skip_occurrence",
    "snooze_reminder",
    "dismiss_reminder",
    "delete_task",
    "retry_delivery",
];

/// The tools this credential may call.
fn tools_for(credential: Credential) -> Value {
    let mut all = tools();
    if !credential.may_write()
        && let Value::Array(list) = &mut all
    {
        list.retain(|tool| !WRITING_TOOLS.contains(&tool["name"].as_str().unwrap_or_default()));
    }
    all
}

fn tools() -> Value {
    let task_id = json!({"type": "string", "format": "uuid", "description": "The task's id"});
    json!([
        {
            "name": "list_tasks",
            "title": "List or search tasks",
            "description": "List the user's tasks with optional filters; `q` does ranked full-text search (word stems and prefixes).",
            "inputSchema": {"type": "object", "additionalProperties": false, "properties": {
                "q": {"type": "string", "description": "Search words"},
                "status": {"type": "string", "description": "Comma list of open, in_progress, completed"},
                "priority": {"type": "string", "description": "Comma list of none, low, medium, high, urgent"},
                "tags": {"type": "string", "description": "Comma list of tag names"},
                "project": {"type": "string", "format": "uuid", "description": "Only this project's tasks (from list_projects); without it, archived projects' tasks are left out"},
                "parent": {"type": "string", "description": "A task id: its subtasks; none: only tasks that are not subtasks"},
                "due_today": {"type": "string", "enum": ["true", "false"]},
                "overdue": {"type": "string", "enum": ["true", "false"]},
                "sort": {"type": "string", "enum": ["due", "priority", "title", "created", "updated", "rank"]},
                "limit": {"type": "string", "description": "1..200, default 50"}
            }}
        },
        {
            "name": "create_task",
            "title": "Create a task",
            "description": "Create a task from `title` and fields, or from `text`, one line as a person would type it (\"Call mom tomorrow 5pm every sunday #family !high\"; parse_task shows how it is read). `due` is YYYY-MM-DD (all day) or YYYY-MM-DDTHH:MM in the user's time zone; `rrule` makes it recurring (needs due). Beside `text`, give only fields the text does not set.",
            "inputSchema": {"type": "object", "additionalProperties": false, "properties": {
                "title": {"type": "string", "description": "Required unless text is given"},
                "text": {"type": "string", "description": "Quick-add line: dates, times, every …, #tag, !high or p1–p4, +project, remind me 30m before; the rest is the title"},
                "project_id": {"type": "string", "format": "uuid", "description": "The project (from list_projects; default the Inbox)"},
                "parent_id": {"type": "string", "format": "uuid", "description": "Make it a subtask of this task (4 levels at most)"},
                "description": {"type": "string"},
                "priority": {"type": "string", "enum": ["none", "low", "medium", "high", "urgent"]},
                "due": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "rrule": {"type": "string", "description": "RFC 5545 rule, e.g. FREQ=WEEKLY;BYDAY=MO"}
            }}
        },
        {
            "name": "parse_task",
            "title": "Read a quick-add line",
            "description": "How create_task would read `text`, without creating anything: the title left, the due date in the user's zone, recurrence, tags, priority, reminders, and the span of each recognised piece. Words that could be part of a title (\"Watch Friday Night Lights\") stay title; a +project is reported with the id of the user's project of that name (null when there is none: creating would fail).",
            "inputSchema": {"type": "object", "additionalProperties": false, "required": ["text"], "properties": {
                "text": {"type": "string"}
            }}
        },
        {
            "name": "update_task",
            "title": "Update a task",
            "description": "Change some fields of a task; omitted fields stay as they are.",
            "inputSchema": {"type": "object", "additionalProperties": false, "required": ["id"], "properties": {
                "id": task_id,
                "title": {"type": "string"},
                "description": {"type": "string"},
                "priority": {"type": "string", "enum": ["none", "low", "medium", "high", "urgent"]},
                "due": {"type": ["string", "null"], "description": "null clears it"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "project_id": {"type": "string", "format": "uuid", "description": "Move it to this project"}
            }}
        },
        {
            "name": "complete_task",
            "title": "Complete a task",
            "description": "Mark a task done (a recurring task's next occurrence follows).",
            "inputSchema": {"type": "object", "additionalProperties": false, "required": ["id"], "properties": {"id": task_id}}
        },
        {
            "name": "skip_occurrence",
            "title": "Skip one occurrence of a recurring task",
            "description": "Skip this occurrence without completing it: the task moves to its series' next date (the skipped date is recorded as an exception). Fails for a task that does not recur, a completed one, or the series' last occurrence.",
            "inputSchema": {"type": "object", "additionalProperties": false, "required": ["id"], "properties": {"id": task_id}}
        },
        {
            "name": "delete_task",
            "title": "Delete a task",
            "description": "Delete a task permanently.",
            "inputSchema": {"type": "object", "additionalProperties": false, "required": ["id"], "properties": {"id": task_id}}
        },
        {
            "name": "list_deliveries",
            "title": "List reminder notifications",
            "description": "What became of the user's reminders, newest first: one entry per reminder firing and channel (email, webhook) with status pending, retrying (next_attempt_at), sent or failed (last_error says why; the notifier gave up after retrying for hours). A task's reminders carry the same state in `deliveries`.",
            "inputSchema": {"type": "object", "additionalProperties": false, "properties": {
                "status": {"type": "string", "description": "Comma list of pending, retrying, sent, failed (default all)"},
                "limit": {"type": "string", "description": "1..200, default 50"}
            }}
        },
        {
            "name": "retry_delivery",
            "title": "Retry a reminder notification",
            "description": "Send a failed (or still retrying) notification again now; the answer shows it retrying.",
            "inputSchema": {"type": "object", "additionalProperties": false, "required": ["id"], "properties": {
                "id": {"type": "string", "format": "uuid", "description": "The delivery's id (from list_deliveries or a reminder's deliveries)"}
            }}
        },
        {
            "name": "snooze_reminder",
            "title": "Snooze a reminder",
            "description": "Have a task's reminder fire again in `minutes` or at `until` (YYYY-MM-DDTHH:MM in the user's zone), within a week.",
            "inputSchema": {"type": "object", "additionalProperties": false, "required": ["task_id", "reminder_id"], "properties": {
                "task_id": task_id,
                "reminder_id": {"type": "string", "format": "uuid", "description": "From the task's reminders"},
                "minutes": {"type": "integer", "minimum": 1, "maximum": 10080},
                "until": {"type": "string"}
            }}
        },
        {
            "name": "dismiss_reminder",
            "title": "Dismiss a reminder's alert",
            "description": "Mark a reminder that fired as seen: it leaves the user's alerts (the web UI's too). The reminder stays and fires again if snoozed or its due date moves.",
            "inputSchema": {"type": "object", "additionalProperties": false, "required": ["task_id", "reminder_id"], "properties": {
                "task_id": task_id,
                "reminder_id": {"type": "string", "format": "uuid", "description": "From the task's reminders or the alerts"}
            }}
        },
        {
            "name": "alerts",
            "title": "Reminders that fired",
            "description": "The user's reminders that fired in the last week and were not dismissed or snoozed since, of open tasks, newest first, each with its task.",
            "inputSchema": {"type": "object", "additionalProperties": false, "properties": {}}
        },
        {
            "name": "today",
            "title": "What is due today",
            "description": "The user's open tasks overdue from earlier days, then those due today in the user's zone, each by due time.",
            "inputSchema": {"type": "object", "additionalProperties": false, "properties": {}}
        },
        {
            "name": "upcoming",
            "title": "The coming days",
            "description": "Each of the next days (default 14, at most 60) with its open tasks and the coming occurrences of recurring tasks that fall on it.",
            "inputSchema": {"type": "object", "additionalProperties": false, "properties": {
                "days": {"type": "integer", "minimum": 1, "maximum": 60}
            }}
        },
        {
            "name": "list_projects",
            "title": "List projects",
            "description": "The user's projects (lists): the Inbox first, then in the user's order, with open and total task counts. Archived ones only with archived=true.",
            "inputSchema": {"type": "object", "additionalProperties": false, "properties": {
                "archived": {"type": "boolean"}
            }}
        },
        {
            "name": "create_project",
            "title": "Create a project",
            "description": "Create a project (list) to put tasks in; names are unique per user, case-insensitively.",
            "inputSchema": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {
                "name": {"type": "string"},
                "color": {"type": "string", "description": "#rrggbb"}
            }}
        },
        {
            "name": "list_tags",
            "title": "List tags",
            "description": "The user's tags with how many tasks carry each.",
            "inputSchema": {"type": "object", "additionalProperties": false, "properties": {}}
        },
        {
            "name": "notification_settings",
            "title": "Where reminders go",
            "description": "The user's notification settings: whether reminders are emailed and to which address (`email`), and their webhooks (`webhooks`: name, URL, enabled, how reminders to each went, the last test). Webhook secrets are never shown. Changed in the web UI's Settings or the REST API.",
            "inputSchema": {"type": "object", "additionalProperties": false, "properties": {}}
        }
    ])
}

#[derive(Deserialize)]
struct CallParams {
    name: String,
    #[serde(default)]
    arguments: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateArgs {
    title: Option<String>,
    text: Option<String>,
    description: Option<String>,
    priority: Option<todo_core::domain::task::Priority>,
    due: Option<String>,
    tags: Option<Vec<String>>,
    rrule: Option<String>,
    project_id: Option<Uuid>,
    parent_id: Option<Uuid>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnoozeArgs {
    task_id: Uuid,
    reminder_id: Uuid,
    minutes: Option<u32>,
    until: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReminderArgs {
    task_id: Uuid,
    reminder_id: Uuid,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpcomingArgs {
    days: Option<u16>,
}

/// Arguments of a tool that takes none.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyArgs {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdArgs {
    id: Uuid,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryArgs {
    status: Option<String>,
    limit: Option<String>,
}

fn args<T: DeserializeOwned>(v: Value) -> Result<T, (i64, String)> {
    let v = if v.is_null() { json!({}) } else { v };
    serde_json::from_value(v).map_err(|e| (INVALID_PARAMS, format!("invalid arguments: {e}")))
}

/// A tool's answer: the JSON as text (for any client) and as structured content.
fn tool_ok(value: Value) -> Value {
    json!({"content": [{"type": "text", "text": value.to_string()}], "structuredContent": value, "isError": false})
}

/// Domain errors are tool results with `isError`, so the assistant can read and correct them.
fn tool_error(err: StoreError) -> Result<Value, (i64, String)> {
    tool_api_error(ApiError::from(err))
}

fn tool_api_error(e: ApiError) -> Result<Value, (i64, String)> {
    if e.status.is_server_error() {
        return Err((-32603, "internal error".into()));
    }
    let field = e.field.map(|f| format!(" (field {f})")).unwrap_or_default();
    Ok(
        json!({"content": [{"type": "text", "text": format!("{}: {}{field}", e.code, e.message)}], "isError": true}),
    )
}

async fn call_tool(
    s: &AppState,
    owner: &Owner,
    credential: Credential,
    params: Value,
) -> Result<Value, (i64, String)> {
    let call: CallParams = args(params)?;
    if !credential.may_write() && WRITING_TOOLS.contains(&call.name.as_str()) {
        return tool_api_error(read_only_token());
    }
    let now = Timestamp::now();
    let store = &s.store;
    // Tasks as the REST API answers them: each fired reminder with its notifications' state.
    let shown = |task: Result<todo_core::model::Task, StoreError>| async move {
        with_deliveries(store, owner.id, task?)
            .await
            .map(|t| json!(t))
    };
    let result: Result<Value, ApiError> = match call.name.as_str() {
        "list_tasks" => {
            let params: TaskQueryParams = args(call.arguments)?;
            let query = match params.validate(&owner.tz, now) {
                Ok(q) => q,
                Err(e) => return tool_error(e.into()),
            };
            match store.list_tasks(owner, &query).await {
                Ok(mut page) => attach(store, owner.id, &mut page.items)
                    .await
                    .map(|()| json!(page)),
                Err(e) => Err(e.into()),
            }
        }
        "create_task" => {
            let a: CreateArgs = args(call.arguments)?;
            let input = NewTask {
                title: a.title.unwrap_or_default(),
                text: a.text,
                description: a.description,
                priority: a.priority,
                due: a.due,
                tags: a.tags,
                project_id: a.project_id,
                parent_id: a.parent_id,
                recurrence: a.rrule.map(|r| todo_core::domain::recurrence::RuleInput {
                    rrule: Some(r),
                    ..Default::default()
                }),
                ..Default::default()
            };
            store
                .create_task(owner, input, now)
                .await
                .map(|t| json!(t))
                .map_err(ApiError::from)
        }
        "update_task" => {
            let mut map = match call.arguments {
                Value::Object(m) => m,
                _ => return Err((INVALID_PARAMS, "arguments must be an object".into())),
            };
            let id: IdArgs = args(json!({"id": map.remove("id").unwrap_or(Value::Null)}))?;
            let patch: TaskPatch = args(Value::Object(map))?;
            shown(store.update_task(owner, id.id, patch, now).await).await
        }
        "complete_task" => {
            let a: IdArgs = args(call.arguments)?;
            shown(store.complete_task(owner, a.id, now).await).await
        }
        "skip_occurrence" => {
            let a: IdArgs = args(call.arguments)?;
            shown(store.skip_occurrence(owner, a.id, now).await).await
        }
        "delete_task" => {
            let a: IdArgs = args(call.arguments)?;
            store
                .delete_task(owner, a.id, now)
                .await
                .map(|()| json!({"deleted": a.id}))
                .map_err(ApiError::from)
        }
        "parse_task" => {
            let a: QuickAddInput = args(call.arguments)?;
            crate::routes::tasks::read_text(store, owner, &a.text)
                .await
                .map(|view| json!(view))
        }
        "snooze_reminder" => {
            let a: SnoozeArgs = args(call.arguments)?;
            let input = SnoozeInput {
                minutes: a.minutes,
                until: a.until,
            };
            match input.fire_at(&owner.tz, now) {
                Ok(at) => store
                    .snooze_reminder(owner, a.task_id, a.reminder_id, at, now)
                    .await
                    .map(|r| json!(r))
                    .map_err(ApiError::from),
                Err(e) => Err(e.into()),
            }
        }
        "dismiss_reminder" => {
            let a: ReminderArgs = args(call.arguments)?;
            store
                .dismiss_reminder(owner, a.task_id, a.reminder_id, now)
                .await
                .map(|()| json!({"dismissed": true}))
                .map_err(ApiError::from)
        }
        "alerts" => {
            let _: EmptyArgs = args(call.arguments)?;
            store
                .alerts(owner, now)
                .await
                .map(|v| json!(v))
                .map_err(ApiError::from)
        }
        "today" => {
            let _: EmptyArgs = args(call.arguments)?;
            store
                .today(owner, now)
                .await
                .map(|v| json!(v))
                .map_err(ApiError::from)
        }
        "upcoming" => {
            let a: UpcomingArgs = args(call.arguments)?;
            store
                .upcoming(owner, a.days, now)
                .await
                .map(|v| json!(v))
                .map_err(ApiError::from)
        }
        "list_projects" => {
            let a: ProjectListParams = args(call.arguments)?;
            store
                .list_projects(owner, a.archived.unwrap_or(false))
                .await
                .map(|p| json!(p))
                .map_err(ApiError::from)
        }
        "create_project" => {
            let a: ProjectInput = args(call.arguments)?;
            store
                .create_project(owner, a, now)
                .await
                .map(|p| json!(p))
                .map_err(ApiError::from)
        }
        "list_tags" => store
            .list_tags(owner)
            .await
            .map(|t| json!(t))
            .map_err(ApiError::from),
        "notification_settings" => match store.notification_settings(owner).await {
            Ok(email) => crate::routes::notifications::webhook_views(store, owner)
                .await
                .map(|webhooks| json!({"email": email, "webhooks": webhooks})),
            Err(e) => Err(e.into()),
        },
        "list_deliveries" => {
            let a: DeliveryArgs = args(call.arguments)?;
            let params = DeliveryQueryParams {
                status: a.status,
                limit: a.limit,
            };
            match params.validate() {
                Ok((statuses, limit)) => deliveries::list(store, owner.id, &statuses, limit)
                    .await
                    .map(|d| json!(d))
                    .map_err(|e| StoreError::Database(e).into()),
                Err(e) => Err(e.into()),
            }
        }
        "retry_delivery" => {
            let a: IdArgs = args(call.arguments)?;
            retry(store, owner.id, a.id).await.map(|d| json!(d))
        }
        other => return Err((INVALID_PARAMS, format!("unknown tool {other}"))),
    };
    match result {
        Ok(v) => Ok(tool_ok(v)),
        Err(e) => tool_api_error(e),
    }
}
