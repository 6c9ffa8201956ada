//! Changing a task: a partial update, complete and reopen, delete. Each locks the task's row first and
//! writes its event in the same transaction.

use crate::domain::due::Due;
use crate::domain::recurrence::Rule;
use crate::domain::reminder::ReminderSpec;
use crate::domain::task::{Priority, Status, validate_description, validate_title};
use crate::error::{Invalid, StoreResult};
use crate::events::kind;
use crate::model::{Task, TaskPatch};
use crate::store::dialect::{Dialect, query, query_as};
use crate::store::projects::usable_project;
use crate::store::rows::{Owner, load_row_for_update, load_task};
use crate::store::tasks::subtasks::recount;
use crate::store::tasks::{ensure_tags, validate_tag_names};
use crate::store::{Pool, Store, from_ms, ms, retry_deadlocked};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use uuid::Uuid;

/// A validated patch: each field `None` where it stays as it is.
struct ValidPatch {
    title: Option<String>,
    description: Option<String>,
    due: Option<Option<Due>>,
    rule: Option<Option<Rule>>,
    tags: Option<Vec<String>>,
    priority: Option<Priority>,
    project: Option<Uuid>,
    status: Option<Status>,
}

impl Store {
    /// Partial update. Setting `status` to completed or back to open behaves like complete/reopen.
    pub async fn update_task(
        &self,
        owner: &Owner,
        id: Uuid,
        patch: TaskPatch,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let title = patch.title.as_deref().map(validate_title).transpose()?;
        let description = patch
            .description
            .as_deref()
            .map(validate_description)
            .transpose()?;
        let due: Option<Option<Due>> = match &patch.due {
            Some(Some(d)) => Some(Some(Due::parse(d, &owner.tz, "due")?)),
            Some(None) => Some(None),
            None => None,
        };
        let rule: Option<Option<Rule>> = match patch.recurrence {
            Some(Some(r)) => Some(Some(r.into_rule().map_err(|e| e.under("recurrence"))?)),
            Some(None) => Some(None),
            None => None,
        };
        let tags = patch.tags.as_deref().map(validate_tag_names).transpose()?;
        let patch = &ValidPatch {
            title,
            description,
            due,
            rule,
            tags,
            priority: patch.priority,
            project: patch.project_id,
            status: patch.status,
        };
        let task = retry_deadlocked(|| async move {
            match &self.pool {
                Pool::Postgres(p) => self.update_task_on(p, owner, id, patch, now).await,
                Pool::Sqlite(p) => self.update_task_on(p, owner, id, patch, now).await,
            }
        })
        .await?;
        self.outbox_wake().notify_one();
        Ok(task)
    }

    async fn update_task_on<D: Dialect>(
        &self,
        pool: &sqlx::Pool<D>,
        owner: &Owner,
        id: Uuid,
        patch: &ValidPatch,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let ValidPatch {
            title,
            description,
            due: new_due,
            rule: new_rule,
            tags,
            priority: new_priority,
            project: new_project,
            status: new_status,
        } = patch;
        let mut tx = D::begin_write(pool).await?;
        let row = load_row_for_update(&mut tx, owner, id).await?;
        let old_status = row.status();
        let mut changed: Vec<String> = Vec::new();
        let mut mark = |field: &str, did: bool| {
            if did {
                changed.push(field.to_owned())
            }
        };
        mark("title", title.as_ref().is_some_and(|t| *t != row.title));
        mark(
            "description",
            description.as_ref().is_some_and(|d| *d != row.description),
        );
        mark(
            "priority",
            new_priority.is_some_and(|p| p.rank() != row.priority),
        );
        mark("status", new_status.is_some_and(|s| s != old_status));
        let project = match new_project {
            Some(_) if row.parent_id.is_some() => {
                return Err(Invalid::new(
                    "subtask_project",
                    "project_id",
                    "a subtask is in its parent's project; move the parent",
                )
                .into());
            }
            Some(p) if *p != row.project_id => {
                usable_project(&mut tx, owner, *p, "project_id").await?;
                *p
            }
            _ => row.project_id,
        };
        if row.parent_id.is_some() && matches!(new_rule, Some(Some(_))) {
            return Err(Invalid::new(
                "subtask_recurrence",
                "recurrence",
                "a subtask does not repeat on its own; make its parent repeat",
            )
            .into());
        }
        mark("project", project != row.project_id);
        let due = match new_due {
            Some(d) => *d,
            None => row.due(),
        };
        mark(
            "due",
            due.map(|d| (d.at_ms(), d.all_day)) != row.due().map(|d| (d.at_ms(), d.all_day)),
        );
        // Clearing the due date ends the recurrence too: a series needs dates.
        let rule = match (new_rule, due) {
            (_, None) => None,
            (Some(r), _) => r.clone(),
            (None, _) => row.rule(),
        };
        if matches!(new_rule, Some(Some(_))) && due.is_none() {
            return Err(Invalid::new(
                "due_required",
                "recurrence",
                "a recurring task needs a due date",
            )
            .into());
        }
        mark("recurrence", rule != row.rule());
        let status = new_status.unwrap_or(old_status);
        let completed_at = match (old_status, status) {
            (Status::Completed, Status::Completed) => row.completed_at,
            (_, Status::Completed) => Some(ms(now)),
            _ => None,
        };
        let (series_id, occurrence, anchor) = match (&rule, due) {
            (Some(_), Some(d))
                if row.series_id.is_none() || new_rule.as_ref().is_some_and(Option::is_some) =>
            {
                (
                    Some(row.series_id.unwrap_or(id)),
                    Some(row.occurrence.unwrap_or(1)),
                    Some(d.local_datetime(&owner.tz).to_string()),
                )
            }
            (Some(_), Some(_)) => (row.series_id, row.occurrence, row.series_anchor.clone()),
            _ => (row.series_id, row.occurrence, None),
        };
        query(
            "UPDATE tasks SET title = $1, description = $2, status = $3, priority = $4, due_at = $5, due_all_day = $6, \
             recurrence = $7, series_id = $8, occurrence = $9, series_anchor = $10, completed_at = $11, updated_at = $12, \
             project_id = $14 WHERE id = $13",
        )
        .bind(title.as_ref().unwrap_or(&row.title))
        .bind(description.as_ref().unwrap_or(&row.description))
        .bind(status.as_str())
        .bind(new_priority.map(|p| p.rank()).unwrap_or(row.priority))
        .bind(due.map(|d| d.at_ms()))
        .bind(due.is_some_and(|d| d.all_day))
        .bind(rule.as_ref().map(|r| serde_json::to_string(r).unwrap_or_default()))
        .bind(series_id)
        .bind(occurrence)
        .bind(anchor)
        .bind(completed_at)
        .bind(ms(now))
        .bind(id)
        .bind(project)
        .execute(&mut tx)
        .await?;
        if let Some(names) = tags {
            let before: Vec<(String,)> = query_as(
                "SELECT g.name_key FROM task_tags tt JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id = $1 ORDER BY g.name_key",
            )
            .bind(id)
            .fetch_all(&mut tx)
            .await?;
            query("DELETE FROM task_tags WHERE task_id = $1")
                .bind(id)
                .execute(&mut tx)
                .await?;
            let tags = ensure_tags(&mut tx, owner, names, now).await?;
            for tag_id in tags.iter().map(|t| t.id) {
                query("INSERT INTO task_tags (task_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(id)
                    .bind(tag_id)
                    .execute(&mut tx)
                    .await?;
            }
            let mut after: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
            after.sort();
            if before.into_iter().map(|(n,)| n).collect::<Vec<_>>() != after {
                changed.push("tags".into());
            }
        }
        if changed.iter().any(|c| c == "due") {
            refire_reminders(&mut tx, id, due, &owner.tz, now).await?;
        }
        if project != row.project_id {
            self.move_descendants(&mut tx, owner, id, project, now)
                .await?;
        }
        if status == Status::Completed && old_status != Status::Completed {
            self.complete_descendants(&mut tx, owner, id, now).await?;
        }
        if let Some(parent) = row.parent_id
            && status != old_status
        {
            recount(&mut tx, parent).await?;
        }
        if changed
            .iter()
            .any(|c| c == "title" || c == "description" || c == "tags")
        {
            D::refresh_derived(&mut tx, id).await?;
        }
        let task = load_task(&mut tx, owner, id, now).await?;
        let event_kind = match (old_status, status) {
            (Status::Completed, Status::Completed) => kind::TASK_UPDATED,
            (_, Status::Completed) => kind::TASK_COMPLETED,
            (Status::Completed, _) => kind::TASK_REOPENED,
            _ => kind::TASK_UPDATED,
        };
        if !changed.is_empty() {
            self.emit_task_event(&mut tx, owner, event_kind, &task, changed, now)
                .await?;
        }
        tx.commit().await?;
        Ok(task)
    }

    /// Complete a task. Completing an already completed task changes nothing and emits nothing.
    pub async fn complete_task(
        &self,
        owner: &Owner,
        id: Uuid,
        now: Timestamp,
    ) -> StoreResult<Task> {
        self.set_status(owner, id, Status::Completed, now).await
    }

    /// Reopen a completed task (status back to open). Reopening an open task changes nothing.
    pub async fn reopen_task(&self, owner: &Owner, id: Uuid, now: Timestamp) -> StoreResult<Task> {
        self.set_status(owner, id, Status::Open, now).await
    }

    async fn set_status(
        &self,
        owner: &Owner,
        id: Uuid,
        to: Status,
        now: Timestamp,
    ) -> StoreResult<Task> {
        // A subtask's parent is recounted, and a parent's subtasks completed: two such writes at once
        // lock the same rows in opposite orders, and PostgreSQL breaks the cycle by failing one.
        let task = retry_deadlocked(|| async move {
            match &self.pool {
                Pool::Postgres(p) => self.set_status_on(p, owner, id, to, now).await,
                Pool::Sqlite(p) => self.set_status_on(p, owner, id, to, now).await,
            }
        })
        .await?;
        self.outbox_wake().notify_one();
        Ok(task)
    }

    async fn set_status_on<D: Dialect>(
        &self,
        pool: &sqlx::Pool<D>,
        owner: &Owner,
        id: Uuid,
        to: Status,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let mut tx = D::begin_write(pool).await?;
        let row = load_row_for_update(&mut tx, owner, id).await?;
        let from = row.status();
        let noop = (to == Status::Completed) == (from == Status::Completed);
        if !noop {
            let completed_at = (to == Status::Completed).then(|| ms(now));
            query("UPDATE tasks SET status = $1, completed_at = $2, updated_at = $3 WHERE id = $4")
                .bind(to.as_str())
                .bind(completed_at)
                .bind(ms(now))
                .bind(id)
                .execute(&mut tx)
                .await?;
        }
        if !noop && to == Status::Completed {
            self.complete_descendants(&mut tx, owner, id, now).await?;
        }
        if let Some(parent) = row.parent_id
            && !noop
        {
            recount(&mut tx, parent).await?;
        }
        let task = load_task(&mut tx, owner, id, now).await?;
        if !noop {
            let k = if to == Status::Completed {
                kind::TASK_COMPLETED
            } else {
                kind::TASK_REOPENED
            };
            self.emit_task_event(&mut tx, owner, k, &task, vec!["status".to_owned()], now)
                .await?;
        }
        tx.commit().await?;
        Ok(task)
    }

    pub async fn delete_task(&self, owner: &Owner, id: Uuid, now: Timestamp) -> StoreResult<()> {
        // Deleting a parent (its row, then its subtasks') can meet a subtask being added (its row, then
        // the parent's count) in the opposite order: the one PostgreSQL fails runs again.
        retry_deadlocked(|| async move {
            match &self.pool {
                Pool::Postgres(p) => self.delete_task_on(p, owner, id, now).await,
                Pool::Sqlite(p) => self.delete_task_on(p, owner, id, now).await,
            }
        })
        .await?;
        self.outbox_wake().notify_one();
        Ok(())
    }

    async fn delete_task_on<D: Dialect>(
        &self,
        pool: &sqlx::Pool<D>,
        owner: &Owner,
        id: Uuid,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = D::begin_write(pool).await?;
        let row = load_row_for_update(&mut tx, owner, id).await?;
        self.delete_descendants(&mut tx, owner, id, now).await?;
        let task = load_task(&mut tx, owner, id, now).await?;
        query("DELETE FROM tasks WHERE id = $1")
            .bind(id)
            .execute(&mut tx)
            .await?;
        if let Some(parent) = row.parent_id {
            recount(&mut tx, parent).await?;
        }
        self.emit_task_event(&mut tx, owner, kind::TASK_DELETED, &task, vec![], now)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A reminder's `id, at, minutes_before, fired_at`.
type ReminderTimes = (Uuid, Option<i64>, Option<i32>, Option<i64>);

/// Recompute every reminder of a task after its due date changed. A relative reminder follows the due
/// date even after it fired: when its new time is still ahead it is re-armed (fires again, as a new event
/// with its own deliveries); when that time has passed too it stays fired.
pub(super) async fn refire_reminders<D: Dialect>(
    tx: &mut sqlx::Transaction<'static, D>,
    task_id: Uuid,
    due: Option<Due>,
    tz: &TimeZone,
    now: Timestamp,
) -> StoreResult<()> {
    let rows: Vec<ReminderTimes> = query_as(
        "SELECT id, at, minutes_before, fired_at FROM reminders \
         WHERE task_id = $1 AND (fired_at IS NULL OR minutes_before IS NOT NULL)",
    )
    .bind(task_id)
    .fetch_all(tx)
    .await?;
    for (rid, at, minutes, fired_at) in rows {
        let spec = match (at, minutes) {
            (Some(at), _) => ReminderSpec::Absolute(from_ms(at)),
            (None, m) => ReminderSpec::Relative {
                minutes_before: m.unwrap_or(0).max(0) as u32,
            },
        };
        let fire = spec.fire_at(due, tz);
        if fired_at.is_some() {
            if fire.is_some_and(|f| f > now) {
                query(
                    "UPDATE reminders SET fire_at = $1, fired_at = NULL, fired_event_id = NULL, \
                     claimed_until = NULL WHERE id = $2",
                )
                .bind(fire.map(ms))
                .bind(rid)
                .execute(tx)
                .await?;
            }
            continue;
        }
        query("UPDATE reminders SET fire_at = $1, claimed_until = NULL WHERE id = $2")
            .bind(fire.map(ms))
            .bind(rid)
            .execute(tx)
            .await?;
    }
    Ok(())
}
