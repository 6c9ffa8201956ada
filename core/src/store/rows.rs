//! Row shapes shared by both backends and their conversion into the model.

use crate::domain::due::Due;
use crate::domain::recurrence::Rule;
use crate::domain::task::{Priority, Status};
use crate::model::{Reminder, TagRef, Task};
use crate::store::{Owner, from_ms};
use jiff::Timestamp;
use std::collections::HashMap;
use uuid::Uuid;

pub(crate) const TASK_COLUMNS: &str = "t.id, t.title, t.description, t.status, t.priority, t.due_at, \
     t.due_all_day, t.recurrence, t.series_id, t.occurrence, t.series_anchor, t.completed_at, t.created_at, t.updated_at";

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
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TagLinkRow {
    pub task_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub color: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ReminderRow {
    pub id: Uuid,
    pub task_id: Uuid,
    pub at: Option<i64>,
    pub minutes_before: Option<i32>,
    pub fire_at: Option<i64>,
    pub fired_at: Option<i64>,
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

    pub fn into_task(
        self,
        tags: Vec<TagRef>,
        reminders: Vec<Reminder>,
        owner: &Owner,
        now: Timestamp,
    ) -> Task {
        let due = self.due();
        let status = self.status();
        let rule = self.rule();
        Task {
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
        }
    }
}

/// Group child rows by task id.
pub(crate) fn group_tags(rows: Vec<TagLinkRow>) -> HashMap<Uuid, Vec<TagRef>> {
    let mut map: HashMap<Uuid, Vec<TagRef>> = HashMap::new();
    for r in rows {
        map.entry(r.task_id).or_default().push(TagRef {
            id: r.id,
            name: r.name,
            color: r.color,
        });
    }
    map
}

pub(crate) fn group_reminders(rows: Vec<ReminderRow>) -> HashMap<Uuid, Vec<Reminder>> {
    let mut map: HashMap<Uuid, Vec<Reminder>> = HashMap::new();
    for r in rows {
        map.entry(r.task_id).or_default().push(r.into_model());
    }
    map
}

/// Load tags and reminders for `rows` (two queries, whatever the page size) and build the tasks.
macro_rules! hydrate {
    ($exec:expr, $rows:expr, $owner:expr, $now:expr) => {{
        let rows: Vec<$crate::store::rows::TaskRow> = $rows;
        let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
        let (mut tags, mut reminders) = (std::collections::HashMap::new(), std::collections::HashMap::new());
        if !ids.is_empty() {
            let list = $crate::store::placeholders(1, ids.len());
            let sql = format!(
                "SELECT tt.task_id, g.id, g.name, g.color FROM task_tags tt JOIN tags g ON g.id = tt.tag_id \
                 WHERE tt.task_id IN ({list}) ORDER BY g.name_key"
            );
            let mut q = sqlx::query_as::<_, $crate::store::rows::TagLinkRow>(&sql);
            for id in &ids {
                q = q.bind(*id);
            }
            tags = $crate::store::rows::group_tags(q.fetch_all($exec).await?);
            let sql = format!(
                "SELECT id, task_id, at, minutes_before, fire_at, fired_at FROM reminders \
                 WHERE task_id IN ({list}) ORDER BY fire_at IS NULL, fire_at, id"
            );
            let mut q = sqlx::query_as::<_, $crate::store::rows::ReminderRow>(&sql);
            for id in &ids {
                q = q.bind(*id);
            }
            reminders = $crate::store::rows::group_reminders(q.fetch_all($exec).await?);
        }
        rows.into_iter()
            .map(|r| {
                let id = r.id;
                r.into_task(tags.remove(&id).unwrap_or_default(), reminders.remove(&id).unwrap_or_default(), $owner, $now)
            })
            .collect::<Vec<$crate::model::Task>>()
    }};
}
pub(crate) use hydrate;
