//! Row shapes shared by both backends and their conversion into the model.

use crate::domain::due::Due;
use crate::domain::recurrence::Rule;
use crate::domain::task::{Priority, Status};
use crate::error::{StoreError, StoreResult};
use crate::model::{Reminder, TagRef, Task};
use crate::store::{Owner, from_ms};
use jiff::Timestamp;
use uuid::Uuid;

/// A task's own columns (`t` is the tasks table).
macro_rules! own_columns {
    () => {
        "t.id, t.title, t.description, t.status, t.priority, t.due_at, t.due_all_day, t.recurrence, \
         t.series_id, t.occurrence, t.series_anchor, t.completed_at, t.created_at, t.updated_at"
    };
}

pub(crate) const TASK_COLUMNS: &str = own_columns!();

/// The columns a whole task is read with: its own, the tags the row carries (`tags_json`, kept by
/// [`refresh_derived`](crate::store::tasks::refresh_derived)) and its reminders (by fire time) aggregated
/// into a JSON array, so a task or a page of tasks is one statement. The aggregate functions differ by
/// dialect; SQLite keeps ids as 16-byte blobs, so they travel as hex.
pub(crate) trait TaskSelect {
    const COLUMNS: &'static str;
}

impl TaskSelect for sqlx::Postgres {
    const COLUMNS: &'static str = concat!(
        own_columns!(),
        ", t.tags_json, \
         (SELECT json_agg(json_build_array(r.id, r.at, r.minutes_before, r.fire_at, r.fired_at, r.fired_event_id) \
           ORDER BY r.fire_at IS NULL, r.fire_at, r.id)::text \
           FROM reminders r WHERE r.task_id = t.id) AS reminders_json"
    );
}

impl TaskSelect for sqlx::Sqlite {
    const COLUMNS: &'static str = concat!(
        own_columns!(),
        ", t.tags_json, \
         (SELECT json_group_array(json_array(hex(r.id), r.at, r.minutes_before, r.fire_at, r.fired_at, NULLIF(hex(r.fired_event_id), '')) \
           ORDER BY r.fire_at IS NULL, r.fire_at, r.id) \
           FROM reminders r WHERE r.task_id = t.id) AS reminders_json"
    );
}

/// [`TaskSelect::COLUMNS`] for the database `exec` talks to.
pub(crate) fn task_columns<'c, E>(_exec: &E) -> &'static str
where
    E: sqlx::Executor<'c>,
    E::Database: TaskSelect,
{
    <E::Database as TaskSelect>::COLUMNS
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TaskRow {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub status: String,
    pub priority: i16,
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
    pub rank: Option<f64>,
    #[sqlx(default)]
    pub sort_int: Option<i64>,
    #[sqlx(default)]
    pub sort_text: Option<String>,
    /// `[[id, name, color], …]` (see [`TaskSelect`]).
    #[sqlx(default)]
    pub tags_json: Option<String>,
    /// `[[id, at, minutes_before, fire_at, fired_at, fired_event_id], …]` (see [`TaskSelect`]).
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

    /// The task with the tags and reminders read alongside it (rows read with [`TaskSelect::COLUMNS`]).
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
            due: due.map(|d| d.view(&owner.tz)),
            overdue: status != Status::Completed && due.is_some_and(|d| d.is_overdue(now)),
            due_today: due.is_some_and(|d| d.is_due_today(now, &owner.tz)),
            tags,
            reminders,
            recurrence: rule.map(|r| r.view()),
            series_id: self.series_id,
            occurrence: self.occurrence.and_then(|o| u32::try_from(o).ok()),
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
