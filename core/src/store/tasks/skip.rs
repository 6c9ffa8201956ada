//! Skipping one occurrence of a recurring task: the task moves on to its series' next date without being
//! completed, and (for a calendar series) the skipped date becomes an EXDATE of the rule.

use crate::domain::due::Due;
use crate::domain::recurrence::Basis;
use crate::domain::task::Status;
use crate::error::{StoreError, StoreResult};
use crate::events::kind;
use crate::model::Task;
use crate::store::dialect::{Dialect, query, query_as};
use crate::store::rows::{Owner, load_row_for_update, load_task};
use crate::store::tasks::update::refire_reminders;
use crate::store::{Pool, Store, ms, retry_deadlocked};
use jiff::Timestamp;
use jiff::civil::DateTime;
use uuid::Uuid;

impl Store {
    /// Skip the current occurrence of an open recurring task. The same task (same id, tags and reminders)
    /// becomes the next occurrence: its due date moves there, absolute reminders move by as much, relative
    /// ones follow and fire again. The position in the series advances, so a skipped occurrence counts
    /// towards `count` as RFC 5545 counts an EXDATE.
    ///
    /// A series measured from the due date records the skipped date in `exdates` (previews, calendar feeds
    /// and the next completion all pass over it). A series measured from completion has no dates to skip:
    /// the next one is measured from now, as if completed now.
    ///
    /// Conflicts: `not_recurring`, `task_completed` (reopen it first), `last_occurrence` (the series has no
    /// next date: complete or delete it instead), `occurrence_exists` (the next occurrence was already
    /// created by an earlier completion of this task).
    pub async fn skip_occurrence(
        &self,
        owner: &Owner,
        id: Uuid,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let task = retry_deadlocked(|| async move {
            match &self.pool {
                Pool::Postgres(p) => self.skip_occurrence_on(p, owner, id, now).await,
                Pool::Sqlite(p) => self.skip_occurrence_on(p, owner, id, now).await,
            }
        })
        .await?;
        self.outbox_wake().notify_one();
        Ok(task)
    }

    async fn skip_occurrence_on<D: Dialect>(
        &self,
        pool: &sqlx::Pool<D>,
        owner: &Owner,
        id: Uuid,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let mut tx = D::begin_write(pool).await?;
        let row = load_row_for_update(&mut tx, owner, id).await?;
        let (Some(rule), Some(due), Some(series_id)) = (row.rule(), row.due(), row.series_id)
        else {
            return Err(conflict(
                "not_recurring",
                "recurrence",
                "only an occurrence of a recurring task can be skipped",
            ));
        };
        if row.status() == Status::Completed {
            return Err(conflict(
                "task_completed",
                "status",
                "this occurrence is completed; reopen it to skip it",
            ));
        }
        let tz = &owner.tz;
        let current = due.local_datetime(tz);
        let anchor: DateTime = row
            .series_anchor
            .as_deref()
            .and_then(|a| a.parse().ok())
            .unwrap_or(current);
        let rule = match rule.basis {
            Basis::Due => rule.skipping(current.date())?,
            Basis::Completion => rule,
        };
        let skipped_at = now.to_zoned(tz.clone()).datetime();
        let occurrence = u32::try_from(row.occurrence.unwrap_or(1)).unwrap_or(1);
        let Some(next) = rule.next_in(tz, anchor, current, skipped_at, occurrence) else {
            return Err(conflict(
                "last_occurrence",
                "recurrence",
                "this is the last occurrence of its series; complete or delete it instead",
            ));
        };
        let next_occurrence = i32::try_from(next.occurrence).unwrap_or(i32::MAX);
        let taken: Option<(Uuid,)> =
            query_as("SELECT id FROM tasks WHERE series_id = $1 AND occurrence = $2")
                .bind(series_id)
                .bind(next_occurrence)
                .fetch_optional(&mut tx)
                .await?;
        if taken.is_some() {
            return Err(conflict(
                "occurrence_exists",
                "occurrence",
                "the next occurrence of this series already exists (this one was completed before); \
                 complete or delete this one instead",
            ));
        }
        let next_due = if due.all_day {
            Due::all_day(next.local.date(), tz)
        } else {
            Due::local(next.local, tz)
        };
        let mut changed = vec!["due".to_owned(), "occurrence".to_owned()];
        if Some(&rule) != row.rule().as_ref() {
            changed.push("recurrence".to_owned());
        }
        query(
            "UPDATE tasks SET due_at = $1, due_all_day = $2, recurrence = $3, occurrence = $4, series_anchor = $5, \
             updated_at = $6 WHERE id = $7",
        )
        .bind(next_due.at_ms())
        .bind(next_due.all_day)
        .bind(serde_json::to_string(&rule).unwrap_or_default())
        .bind(next_occurrence)
        .bind(next.anchor.to_string())
        .bind(ms(now))
        .bind(id)
        .execute(&mut tx)
        .await?;
        // Absolute reminders move with the occurrence, as they do into a next occurrence after a completion.
        query("UPDATE reminders SET at = at + $1 WHERE task_id = $2 AND at IS NOT NULL")
            .bind(next_due.at_ms() - due.at_ms())
            .bind(id)
            .execute(&mut tx)
            .await?;
        refire_reminders(&mut tx, id, Some(next_due), tz, now).await?;
        let task = load_task(&mut tx, owner, id, now).await?;
        self.emit_task_event(&mut tx, owner, kind::TASK_UPDATED, &task, changed, now)
            .await?;
        tx.commit().await?;
        Ok(task)
    }
}

fn conflict(code: &'static str, field: &'static str, message: &str) -> StoreError {
    StoreError::Conflict {
        code,
        field,
        message: message.to_owned(),
    }
}
