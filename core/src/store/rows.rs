//! Row shapes shared by both backends, their conversion into the model, and the reads and writes of
//! them that several of the store's operations share. Imports no other operation module, so each can
//! use it without the modules depending on one another.

use crate::domain::due::Due;
use crate::domain::recurrence::Rule;
use crate::domain::reminder::ReminderSpec;
use crate::domain::task::{Priority, Status};
use crate::domain::time_zone::stored_time_zone;
use crate::error::{StoreError, StoreResult};
use crate::model::{Reminder, TagRef, Task, User};
use crate::store::dialect::{Conn, Dialect, query, query_as};
use crate::store::{from_ms, ms};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use uuid::Uuid;

/// The caller of a request: who they are and the zone their dates live in.
#[derive(Debug, Clone)]
pub struct Owner {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub time_zone: String,
    pub tz: TimeZone,
    pub created_at: Timestamp,
    /// Login sessions issued with another epoch are over (logged out everywhere, password changed).
    pub session_epoch: i64,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    display_name: String,
    time_zone: String,
    created_at: i64,
    session_epoch: i64,
}

impl From<UserRow> for Owner {
    fn from(r: UserRow) -> Owner {
        Owner {
            tz: stored_time_zone(&r.time_zone),
            id: r.id,
            email: r.email,
            display_name: r.display_name,
            time_zone: r.time_zone,
            created_at: from_ms(r.created_at),
            session_epoch: r.session_epoch,
        }
    }
}

impl Owner {
    /// Whether `other` is this profile as it is now (what tasks and their events are written with).
    pub(crate) fn same_profile(&self, other: &Owner) -> bool {
        self.id == other.id
            && self.email == other.email
            && self.display_name == other.display_name
            && self.time_zone == other.time_zone
    }

    pub fn to_user(&self) -> User {
        User {
            id: self.id,
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            time_zone: self.time_zone.clone(),
            created_at: self.created_at,
        }
    }

    pub fn event_user(&self) -> crate::events::EventUser {
        crate::events::EventUser {
            id: self.id,
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            time_zone: self.time_zone.clone(),
        }
    }
}

/// Read a caller's profile; `StoreError::NotFound` if the account is gone.
pub(crate) async fn load_owner<D: Dialect>(on: &mut impl Conn<D>, id: Uuid) -> StoreResult<Owner> {
    let row: Option<UserRow> =
        query_as(
            "SELECT id, email, display_name, time_zone, created_at, session_epoch FROM users WHERE id = $1",
        )
            .bind(id)
            .fetch_optional(on)
            .await?;
    Ok(Owner::from(row.ok_or(StoreError::NotFound("user"))?))
}

/// One task of the owner, whole (see [`Dialect::task_columns`]).
pub(crate) async fn load_task<D: Dialect>(
    on: &mut impl Conn<D>,
    owner: &Owner,
    id: Uuid,
    now: Timestamp,
) -> StoreResult<Task> {
    let sql = format!(
        "SELECT {} FROM tasks t WHERE t.id = $1 AND t.user_id = $2",
        D::task_columns()
    );
    let row: Option<TaskRow> = query_as(&sql)
        .bind(id)
        .bind(owner.id)
        .fetch_optional(on)
        .await?;
    row.ok_or(StoreError::NotFound("task"))?
        .into_task(owner, now)
}

/// One task row of the owner, locked for the rest of the transaction where the database locks rows.
pub(crate) async fn load_row_for_update<D: Dialect>(
    on: &mut impl Conn<D>,
    owner: &Owner,
    id: Uuid,
) -> StoreResult<TaskRow> {
    let row: Option<TaskRow> = query_as(D::TASK_FOR_UPDATE)
        .bind(id)
        .bind(owner.id)
        .fetch_optional(on)
        .await?;
    row.ok_or(StoreError::NotFound("task"))
}

/// A new reminder of `task_id` with its fire time computed, before it is written.
pub(crate) fn planned_reminder(
    task_id: Uuid,
    spec: &ReminderSpec,
    due: Option<Due>,
    tz: &TimeZone,
) -> Reminder {
    let (at, minutes_before) = match *spec {
        ReminderSpec::Absolute(at) => (Some(at), None),
        ReminderSpec::Relative { minutes_before } => (None, Some(minutes_before)),
    };
    // Stored to the millisecond; the returned reminder says what a read will.
    let stored = |t: Timestamp| from_ms(ms(t));
    Reminder {
        id: Uuid::now_v7(),
        task_id,
        at: at.map(stored),
        minutes_before,
        fire_at: spec.fire_at(due, tz).map(stored),
        fired_at: None,
        fired_event_id: None,
        deliveries: Vec::new(),
    }
}

/// Write a planned reminder in the caller's transaction.
pub(crate) async fn write_reminder<D: Dialect>(
    on: &mut impl Conn<D>,
    r: &Reminder,
    owner: &Owner,
    now: Timestamp,
) -> StoreResult<()> {
    query(
        "INSERT INTO reminders (id, task_id, user_id, at, minutes_before, fire_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.id)
    .bind(r.task_id)
    .bind(owner.id)
    .bind(r.at.map(ms))
    .bind(r.minutes_before.map(|m| m as i32))
    .bind(r.fire_at.map(ms))
    .bind(ms(now))
    .execute(on)
    .await?;
    Ok(())
}

/// Insert one reminder with its computed fire time.
pub(crate) async fn insert_reminder<D: Dialect>(
    on: &mut impl Conn<D>,
    task_id: Uuid,
    owner: &Owner,
    spec: &ReminderSpec,
    due: Option<Due>,
    now: Timestamp,
) -> StoreResult<Reminder> {
    let reminder = planned_reminder(task_id, spec, due, &owner.tz);
    write_reminder(on, &reminder, owner, now).await?;
    Ok(reminder)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TaskRow {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub status: String,
    pub priority: i16,
    pub project_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub due_at: Option<i64>,
    pub due_all_day: bool,
    pub recurrence: Option<String>,
    pub series_id: Option<Uuid>,
    pub occurrence: Option<i32>,
    pub series_anchor: Option<String>,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    #[sqlx(default)]
    pub subtask_count: i32,
    #[sqlx(default)]
    pub subtasks_done: i32,
    #[sqlx(default)]
    pub rank: Option<f64>,
    #[sqlx(default)]
    pub sort_int: Option<i64>,
    #[sqlx(default)]
    pub sort_text: Option<String>,
    /// `[[id, name, color], …]` (see [`Dialect::task_columns`]).
    #[sqlx(default)]
    pub tags_json: Option<String>,
    /// `[[id, at, minutes_before, fire_at, fired_at, fired_event_id], …]` (see [`Dialect::task_columns`]).
    #[sqlx(default)]
    pub reminders_json: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ReminderRow {
    pub id: Uuid,
    pub task_id: Uuid,
    pub at: Option<i64>,
    pub minutes_before: Option<i32>,
    pub fire_at: Option<i64>,
    pub fired_at: Option<i64>,
    pub fired_event_id: Option<Uuid>,
}

impl ReminderRow {
    pub fn into_model(self) -> Reminder {
        Reminder {
            id: self.id,
            task_id: self.task_id,
            at: self.at.map(from_ms),
            minutes_before: self.minutes_before.and_then(|m| u32::try_from(m).ok()),
            fire_at: self.fire_at.map(from_ms),
            fired_at: self.fired_at.map(from_ms),
            fired_event_id: self.fired_event_id,
            deliveries: Vec::new(),
        }
    }
}

impl TaskRow {
    pub fn due(&self) -> Option<Due> {
        self.due_at.map(|at| Due::from_stored(at, self.due_all_day))
    }

    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or_default()
    }

    pub fn rule(&self) -> Option<Rule> {
        self.recurrence
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
    }

    /// The task with the tags and reminders read alongside it (rows read with [`Dialect::task_columns`]).
    pub fn into_task(self, owner: &Owner, now: Timestamp) -> StoreResult<Task> {
        let tags = parse_children::<(Uuid, String, String)>(self.tags_json.as_deref())?
            .into_iter()
            .map(|(id, name, color)| TagRef { id, name, color })
            .collect();
        let reminders = parse_children::<ReminderTuple>(self.reminders_json.as_deref())?
            .into_iter()
            .map(
                |(id, at, minutes_before, fire_at, fired_at, fired_event_id)| {
                    ReminderRow {
                        id,
                        task_id: self.id,
                        at,
                        minutes_before,
                        fire_at,
                        fired_at,
                        fired_event_id,
                    }
                    .into_model()
                },
            )
            .collect();
        let due = self.due();
        let status = self.status();
        let rule = self.rule();
        Ok(Task {
            id: self.id,
            title: self.title,
            description: self.description,
            status,
            priority: Priority::from_rank(self.priority),
            project_id: self.project_id,
            parent_id: self.parent_id,
            subtask_count: i64::from(self.subtask_count),
            subtasks_done: i64::from(self.subtasks_done),
            due: due.map(|d| d.view(&owner.tz)),
            overdue: status != Status::Completed && due.is_some_and(|d| d.is_overdue(now)),
            due_today: due.is_some_and(|d| d.is_due_today(now, &owner.tz)),
            tags,
            reminders,
            recurrence: rule.map(|r| r.view()),
            series_id: self.series_id,
            occurrence: self.occurrence.and_then(|o| u32::try_from(o).ok()),
            series_anchor: self.series_anchor.as_deref().and_then(|a| a.parse().ok()),
            rank: self.rank,
            completed_at: self.completed_at.map(from_ms),
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        })
    }
}

type ReminderTuple = (
    Uuid,
    Option<i64>,
    Option<i32>,
    Option<i64>,
    Option<i64>,
    Option<Uuid>,
);

/// A JSON array aggregated by the database; no child rows aggregate to NULL.
fn parse_children<T: serde::de::DeserializeOwned>(json: Option<&str>) -> StoreResult<Vec<T>> {
    match json {
        None => Ok(Vec::new()),
        Some(json) => serde_json::from_str(json)
            .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e)))),
    }
}
