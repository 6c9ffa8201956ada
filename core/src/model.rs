//! Request and response shapes shared by the HTTP API, the MCP endpoint and the event payloads. The
//! OpenAPI schemas are generated from these types.

use crate::domain::due::{Due, DueView};
use crate::domain::quick_add;
use crate::domain::recurrence::{RuleInput, RuleView};
use crate::domain::reminder::ReminderInput;
use crate::domain::task::{Priority, Status, validate_tag_name, validate_title};
use crate::error::Invalid;
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

/// Distinguish "absent" (leave as is) from `null` (clear) in PATCH bodies.
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// IANA zone used for due dates, recurrence and reminders.
    pub time_zone: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupInput {
    #[schema(format = "email", max_length = 254)]
    pub email: String,
    /// At least 8 characters.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    pub display_name: Option<String>,
    /// IANA zone, e.g. `Europe/Berlin` (default UTC).
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

/// `POST /api/v1/auth/password`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 8 characters.
    #[schema(min_length = 8, max_length = 1024)]
    pub new_password: String,
}

#[derive(Debug, Clone, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    pub display_name: Option<String>,
    /// Changing zone keeps all-day tasks on their dates and timed tasks at their instants.
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Tag {
    pub id: Uuid,
    pub name: String,
    /// `#rrggbb`
    pub color: String,
    /// Tasks carrying this tag.
    pub task_count: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagInput {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^,\x00-\x1f]*\S[^,\x00-\x1f]*$"
    )]
    pub name: String,
    /// Hex colour `#rgb` or `#rrggbb` (default a neutral grey).
    #[schema(pattern = r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub color: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagPatch {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^,\x00-\x1f]*\S[^,\x00-\x1f]*$"
    )]
    pub name: Option<String>,
    #[schema(pattern = r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub color: Option<String>,
}

/// A tag as shown on a task.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TagRef {
    pub id: Uuid,
    pub name: String,
    pub color: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Reminder {
    pub id: Uuid,
    pub task_id: Uuid,
    /// Absolute reminders: the moment.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
    /// Relative reminders: minutes before the task's due time.
    pub minutes_before: Option<u32>,
    /// When it fires next; absent when a relative reminder's task has no due date.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub fire_at: Option<Timestamp>,
    /// When it fired: its `todo.reminder.due.v1` event was emitted. Whether that reached you is in
    /// `deliveries`; a moved due date clears this again when the reminder's new time is still ahead.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub fired_at: Option<Timestamp>,
    /// The id of that event (a webhook receives it as `X-Todo-Event-Id`).
    pub fired_event_id: Option<Uuid>,
    /// Per channel, what became of the last firing. Empty until it fires, and while the notifier has
    /// not yet picked the firing up (then it is pending).
    #[serde(default)]
    pub deliveries: Vec<ReminderDelivery>,
}

/// A reminder that fired and is still to be seen: the web UI shows it (on every device, and after a reload)
/// until it is dismissed or snoozed, or its task is completed. The same fields as the
/// `todo.reminder.due.v1` event's data, without the user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Alert {
    pub reminder_id: Uuid,
    /// The time it was set to fire at.
    #[schema(value_type = String, format = DateTime)]
    pub fire_at: Timestamp,
    /// When it fired.
    #[schema(value_type = String, format = DateTime)]
    pub fired_at: Timestamp,
    pub task: Task,
}

/// A notification channel.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "email" => Some(Channel::Email),
            "webhook" => Some(Channel::Webhook),
            _ => None,
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Recorded; the first attempt has not finished yet.
    Pending,
    /// An attempt failed; the next is at `next_attempt_at` (backing off).
    Retrying,
    /// Delivered (accepted by the mail server, or a 2xx from the webhook).
    Sent,
    /// Given up after retrying for the configured time; `last_error` says why. Can be retried.
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Retrying,
        DeliveryStatus::Sent,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// A reminder's notification on one channel, as the reminder shows it: a [`Delivery`] without the
/// reminder and task it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ReminderDelivery {
    /// The delivery's id (`POST /api/v1/deliveries/{id}/retry`).
    pub id: Uuid,
    pub channel: Channel,
    /// The personal webhook a `webhook` delivery goes to; null for email and the platform's webhook.
    pub webhook_id: Option<Uuid>,
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// Why the last failed attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending and retrying only).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<Delivery> for ReminderDelivery {
    fn from(d: Delivery) -> Self {
        ReminderDelivery {
            id: d.id,
            channel: d.channel,
            webhook_id: d.webhook_id,
            status: d.status,
            attempts: d.attempts,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at,
            sent_at: d.sent_at,
            updated_at: d.updated_at,
        }
    }
}

/// One reminder firing on one channel: the notifier's record of sending it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    /// The `todo.reminder.due.v1` event delivered.
    pub event_id: Uuid,
    pub reminder_id: Uuid,
    pub task_id: Uuid,
    /// The task's title when the reminder fired.
    pub task_title: String,
    pub channel: Channel,
    /// The personal webhook a `webhook` delivery goes to; null for email and the platform's webhook.
    pub webhook_id: Option<Uuid>,
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// Why the last failed attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending and retrying only).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
    /// When the notifier recorded the firing.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Task {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    /// The project (list) the task is in; the Inbox's id is the user's id.
    #[serde(default)]
    pub project_id: Uuid,
    /// The task this one is a subtask of.
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    /// Its direct subtasks (`GET /api/v1/tasks?parent={id}` lists them).
    #[serde(default)]
    pub subtask_count: i64,
    /// Of those, the completed ones.
    #[serde(default)]
    pub subtasks_done: i64,
    pub due: Option<DueView>,
    /// Not completed and its due time has passed (judged in the user's zone).
    pub overdue: bool,
    /// Due during the user's today.
    pub due_today: bool,
    pub tags: Vec<TagRef>,
    pub reminders: Vec<Reminder>,
    pub recurrence: Option<RuleView>,
    /// Tasks of one recurring series share this id.
    pub series_id: Option<Uuid>,
    /// 1-based position in the series.
    pub occurrence: Option<u32>,
    /// The local wall time the series' next occurrence is computed from (its DTSTART, or for a series
    /// measured from completion the last restart). Usually this occurrence's own due time; it differs when
    /// that time did not exist (02:30 on the night clocks skip it is due at 03:30, the series stays at 02:30).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "2026-03-29T02:30:00")]
    pub series_anchor: Option<DateTime>,
    /// Search relevance (only when listing with `q`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<f64>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// A new task: `title` and the structured fields, or `text` — one quick-add line read as `POST
/// /api/v1/tasks/parse` reads it (`Pay rent every month on the 1st #bills !high`). Beside `text`, a field
/// the text does not set may be given (`description`, `status`, or e.g. `due` when the text names no date);
/// giving `title`, or a field the text sets too, is a 422 `conflict` naming that field. A `+project` in the
/// text names one of your projects (case-insensitive; `_` stands for a space), else it is a 422
/// `unknown_project`; what the text sets is validated as if given as fields, with errors naming `text`.
#[derive(Debug, Clone, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// 1..=500 characters after trimming; required unless `text` is given.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub title: String,
    /// A quick-add line (at most 2000 characters) instead of `title`: see `POST /api/v1/tasks/parse`.
    #[schema(max_length = 2000)]
    pub text: Option<String>,
    pub description: Option<String>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    /// One of your projects that is not archived (default: the Inbox, or the parent's project).
    pub project_id: Option<Uuid>,
    /// Make it a subtask of this task of yours (at most 4 levels deep). A subtask is in its parent's project
    /// and does not repeat.
    pub parent_id: Option<Uuid>,
    /// `YYYY-MM-DD` (all day), `YYYY-MM-DDTHH:MM` (your local time) or RFC 3339 with offset.
    pub due: Option<String>,
    /// Tag names; tags that don't exist yet are created.
    pub tags: Option<Vec<String>>,
    /// Needs `due` (the first occurrence).
    pub recurrence: Option<RuleInput>,
    pub reminders: Option<Vec<ReminderInput>>,
}

impl NewTask {
    /// The task `text` describes (read in `tz` at `now`), with the fields given beside it, and the name of
    /// the project the text puts it in (for the store to look up); without `text`, the task as given.
    pub fn resolve_text(
        mut self,
        tz: &TimeZone,
        now: Timestamp,
    ) -> Result<(NewTask, Option<String>), Invalid> {
        let Some(text) = self.text.take() else {
            return Ok((self, None));
        };
        quick_add::check_text(&text)?;
        let q = quick_add::parse(&text, tz, now);
        let in_text = |e: Invalid| Invalid {
            field: Some("text".into()),
            ..e
        };
        let conflict = |field: &'static str, what: &str| {
            Invalid::new(
                "conflict",
                field,
                format!(
                    "the text already gives the task its {what}; drop {field} or that part of the text"
                ),
            )
        };
        if !self.title.is_empty() {
            return Err(Invalid::new(
                "conflict",
                "title",
                "give either title (with fields) or text, not both",
            ));
        }
        if q.project.is_some() && self.project_id.is_some() {
            return Err(conflict("project_id", "project"));
        }
        // A rule alone gives the text a first due date of its own making; `due` then says where it starts.
        let dated = q.spans.iter().any(|s| {
            matches!(
                s.kind,
                quick_add::SpanKind::Date | quick_add::SpanKind::Time
            )
        });
        if dated && self.due.is_some() {
            return Err(conflict("due", "due date"));
        }
        if q.recurrence.is_some() && self.recurrence.is_some() {
            return Err(conflict("recurrence", "recurrence"));
        }
        if !q.tags.is_empty() && self.tags.is_some() {
            return Err(conflict("tags", "tags"));
        }
        if q.priority.is_some() && self.priority.is_some() {
            return Err(conflict("priority", "priority"));
        }
        if !q.reminders.is_empty() && self.reminders.is_some() {
            return Err(conflict("reminders", "reminders"));
        }
        let title = validate_title(&q.title).map_err(|e| Invalid {
            message: format!(
                "{}; the text leaves no title once its dates, tags and the like are read",
                e.message
            ),
            ..in_text(e)
        })?;
        for tag in &q.tags {
            validate_tag_name(tag, "text")?;
        }
        let due = self.due.or(q.due.map(|d| d.input()));
        if !q.reminders.is_empty() && due.is_none() {
            return Err(Invalid::new(
                "due_required",
                "text",
                "a reminder before the due time needs a due date; add one (e.g. tomorrow 9am)",
            ));
        }
        let recurrence = q.recurrence.map(|rule| RuleInput {
            rrule: Some(rule.to_rrule()),
            basis: Some(rule.basis),
            ..Default::default()
        });
        let reminders = (!q.reminders.is_empty()).then(|| {
            q.reminders
                .iter()
                .map(|&m| ReminderInput {
                    at: None,
                    minutes_before: Some(m),
                })
                .collect()
        });
        let task = NewTask {
            title,
            text: None,
            due,
            recurrence: self.recurrence.or(recurrence),
            tags: self.tags.or((!q.tags.is_empty()).then_some(q.tags)),
            priority: self.priority.or(q.priority),
            reminders: self.reminders.or(reminders),
            ..self
        };
        Ok((task, q.project))
    }
}

#[derive(Debug, Clone, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    /// Move the task to this project (one of yours, not archived).
    pub project_id: Option<Uuid>,
    /// `null` clears the due date (and the recurrence, which needs one).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub due: Option<Option<String>>,
    /// Replaces the task's tags; names that don't exist yet are created.
    pub tags: Option<Vec<String>>,
    /// `null` stops the task recurring.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<RuleInput>, nullable)]
    pub recurrence: Option<Option<RuleInput>>,
}

/// One page of a listing; pass `next_cursor` back as `cursor` for the next one.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskPage {
    pub items: Vec<Task>,
    pub next_cursor: Option<String>,
}

/// The most occurrences one preview lists.
pub const MAX_PREVIEW: u16 = 100;

/// `GET /api/v1/tasks/{id}/occurrences` parameters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OccurrencesParams {
    /// How many occurrences to list, 1..=100 (default 10).
    pub limit: Option<u16>,
}

/// A rule not saved yet, previewed from the first due date it would have.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulePreview {
    /// As a task's `due`: `YYYY-MM-DD` (all day), `YYYY-MM-DDTHH:MM` (your local time) or RFC 3339.
    pub due: String,
    pub recurrence: RuleInput,
    /// How many occurrences to list, 1..=100 (default 10).
    #[schema(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
}

/// The upcoming due dates of a series, the first one included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Occurrences {
    pub occurrences: Vec<DueView>,
}

fn preview_limit(limit: Option<u16>) -> Result<usize, Invalid> {
    match limit.unwrap_or(10) {
        n @ 1..=MAX_PREVIEW => Ok(usize::from(n)),
        _ => Err(Invalid::new(
            "out_of_range",
            "limit",
            format!("limit must be 1..={MAX_PREVIEW}"),
        )),
    }
}

impl Occurrences {
    /// A task's series from the task on (a task that does not recur has its own due date only, one without a
    /// due date none). The series continues from this occurrence's due time, as the next one will.
    pub fn of_task(task: &Task, tz: &TimeZone, limit: Option<u16>) -> Result<Occurrences, Invalid> {
        let limit = preview_limit(limit)?;
        let Some(view) = &task.due else {
            return Ok(Occurrences {
                occurrences: vec![],
            });
        };
        let due = Due::from_stored(view.at.as_millisecond(), view.all_day);
        let first = due.local_datetime(tz);
        let dues = match &task.recurrence {
            Some(r) => r.rule.upcoming(
                tz,
                task.series_anchor.unwrap_or(first),
                first,
                due.all_day,
                task.occurrence.unwrap_or(1),
                limit,
            ),
            None => vec![due],
        };
        Ok(Occurrences {
            occurrences: dues.iter().map(|d| d.view(tz)).collect(),
        })
    }
}

impl RulePreview {
    pub fn occurrences(self, tz: &TimeZone) -> Result<Occurrences, Invalid> {
        let limit = preview_limit(self.limit)?;
        let due = Due::parse(&self.due, tz, "due")?;
        let rule = self
            .recurrence
            .into_rule()
            .map_err(|e| e.under("recurrence"))?;
        let first = due.local_datetime(tz);
        let dues = rule.upcoming(tz, first, first, due.all_day, 1, limit);
        Ok(Occurrences {
            occurrences: dues.iter().map(|d| d.view(tz)).collect(),
        })
    }
}

/// What completing a recurring task's occurrence produced.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NextOccurrence {
    /// The next task, or `None` when the series has ended.
    pub next: Option<Task>,
    /// `false` when the next occurrence already existed (a repeated request).
    pub created: bool,
}

/// A project (list) of tasks. Every user has an Inbox (`inbox: true`, its id is the user's id), listed
/// first, which can be renamed and recoloured but not archived or deleted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Project {
    pub id: Uuid,
    pub name: String,
    /// `#rrggbb`
    pub color: String,
    pub inbox: bool,
    /// The project's place among your projects (0 is the Inbox's), as `PATCH` with `position` sets it.
    pub position: i32,
    /// Archived projects and their tasks are left out of listings that do not ask for them by id.
    pub archived: bool,
    /// Its tasks that are not completed.
    pub open_tasks: i64,
    /// All its tasks.
    pub task_count: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    /// 1..=100 characters after trimming, unique among your projects (case-insensitive).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$"
    )]
    pub name: String,
    /// Hex colour `#rgb` or `#rrggbb` (default a neutral grey).
    #[schema(pattern = r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub color: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$"
    )]
    pub name: Option<String>,
    #[schema(pattern = r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub color: Option<String>,
    /// Move it to this place among your other projects (1 is first after the Inbox; past the end is last).
    #[schema(minimum = 1, maximum = 10000)]
    pub position: Option<u16>,
    /// Archive (`true`) or restore (`false`) it. The Inbox cannot be archived.
    pub archived: Option<bool>,
}

/// `GET /api/v1/projects` parameters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProjectListParams {
    /// `true`: archived projects too.
    pub archived: Option<bool>,
}

/// What becomes of a deleted project's tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProjectTasks {
    /// They move to the Inbox.
    #[default]
    Move,
    /// They are deleted with it.
    Delete,
}

/// `DELETE /api/v1/projects/{id}` parameters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProjectDeleteParams {
    /// `move` (default): its tasks move to the Inbox; `delete`: they are deleted with it.
    #[param(inline)]
    pub tasks: Option<ProjectTasks>,
}

/// `GET /api/v1/views/today`: what needs doing today, in your zone.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TodayView {
    /// Your today.
    #[schema(value_type = String, format = Date, example = "2026-12-06")]
    pub date: jiff::civil::Date,
    /// Open tasks due before today, earliest first.
    pub overdue: Vec<Task>,
    /// Open tasks due today (all-day ones and those whose time has passed too), by due time.
    pub today: Vec<Task>,
}

/// `GET /api/v1/views/upcoming` parameters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UpcomingParams {
    /// How many days from today (1..=60, default 14).
    pub days: Option<String>,
}

impl UpcomingParams {
    /// `days` as a number (its range is the view's to check).
    pub fn days(&self) -> Result<Option<u16>, Invalid> {
        self.days
            .as_deref()
            .map(|d| {
                d.trim().parse::<u16>().map_err(|_| {
                    Invalid::new("out_of_range", "days", "days must be a number 1..=60")
                })
            })
            .transpose()
    }
}

/// `GET /api/v1/views/upcoming`: the coming days, each with its tasks and the coming occurrences of
/// recurring tasks that fall on it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpcomingView {
    pub days: Vec<UpcomingDay>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpcomingDay {
    #[schema(value_type = String, format = Date, example = "2026-12-07")]
    pub date: jiff::civil::Date,
    /// Open tasks due that day, by due time.
    pub tasks: Vec<Task>,
    /// Later occurrences of recurring tasks that fall that day (the task itself is listed on its own due
    /// day; these become tasks as the earlier ones are completed).
    pub occurrences: Vec<ProjectedOccurrence>,
}

/// A coming occurrence of a recurring task, not yet a task of its own.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectedOccurrence {
    /// The open task of the series.
    pub task_id: Uuid,
    pub title: String,
    pub project_id: Uuid,
    pub due: DueView,
    /// Its 1-based position in the series.
    pub occurrence: u32,
}
