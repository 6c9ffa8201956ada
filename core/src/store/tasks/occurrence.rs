//! The next occurrence of a recurring task, created once when the recurrence worker sees a completion.

use crate::domain::due::Due;
use crate::domain::reminder::ReminderSpec;
use crate::error::StoreResult;
use crate::events::kind;
use crate::model::NextOccurrence;
use crate::store::dialect::{Dialect, query, query_as};
use crate::store::rows::{Owner, insert_reminder, load_row_for_update, load_task};
use crate::store::{Pool, Store, from_ms, ms, retry_deadlocked};
use jiff::Timestamp;
use jiff::civil::DateTime;
use uuid::Uuid;

impl Store {
    /// Create the occurrence that follows `completed_id` in its series — once: a repeated call (a redelivered
    /// completion event) returns the existing next task with `created: false`. Returns `next: None` when the
    /// series has ended (count or until reached) or the task does not recur.
    pub async fn create_next_occurrence(
        &self,
        owner: &Owner,
        completed_id: Uuid,
        now: Timestamp,
    ) -> StoreResult<NextOccurrence> {
        let result = retry_deadlocked(|| async move {
            match &self.pool {
                Pool::Postgres(p) => self.next_occurrence_on(p, owner, completed_id, now).await,
                Pool::Sqlite(p) => self.next_occurrence_on(p, owner, completed_id, now).await,
            }
        })
        .await?;
        self.outbox_wake().notify_one();
        Ok(result)
    }

    async fn next_occurrence_on<D: Dialect>(
        &self,
        pool: &sqlx::Pool<D>,
        owner: &Owner,
        completed_id: Uuid,
        now: Timestamp,
    ) -> StoreResult<NextOccurrence> {
        let mut tx = D::begin_write(pool).await?;
        let row = load_row_for_update(&mut tx, owner, completed_id).await?;
        let (Some(rule), Some(due), Some(series_id)) = (row.rule(), row.due(), row.series_id)
        else {
            return Ok(NextOccurrence {
                next: None,
                created: false,
            });
        };
        let tz = &owner.tz;
        let anchor: DateTime = row
            .series_anchor
            .as_deref()
            .and_then(|a| a.parse().ok())
            .unwrap_or(due.local_datetime(tz));
        let current = due.local_datetime(tz);
        let completed = from_ms(row.completed_at.unwrap_or(ms(now)))
            .to_zoned(tz.clone())
            .datetime();
        let occurrence = u32::try_from(row.occurrence.unwrap_or(1)).unwrap_or(1);
        let Some(next) = rule.next_in(tz, anchor, current, completed, occurrence) else {
            return Ok(NextOccurrence {
                next: None,
                created: false,
            });
        };
        let next_due = if due.all_day {
            Due::all_day(next.local.date(), tz)
        } else {
            Due::local(next.local, tz)
        };
        let next_occurrence = i32::try_from(next.occurrence).unwrap_or(i32::MAX);
        let new_id = Uuid::now_v7();
        let inserted = query(
            "INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, due_all_day, recurrence, \
             series_id, occurrence, series_anchor, created_at, updated_at, project_id) \
             VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) ON CONFLICT DO NOTHING",
        )
        .bind(new_id)
        .bind(owner.id)
        .bind(&row.title)
        .bind(&row.description)
        .bind(row.priority)
        .bind(next_due.at_ms())
        .bind(next_due.all_day)
        .bind(&row.recurrence)
        .bind(series_id)
        .bind(next_occurrence)
        .bind(next.anchor.to_string())
        .bind(ms(now))
        .bind(row.project_id)
        .execute(&mut tx)
        .await?
            == 1;
        if !inserted {
            let (existing,): (Uuid,) =
                query_as("SELECT id FROM tasks WHERE series_id = $1 AND occurrence = $2")
                    .bind(series_id)
                    .bind(next_occurrence)
                    .fetch_one(&mut tx)
                    .await?;
            let task = load_task(&mut tx, owner, existing, now).await?;
            tx.commit().await?;
            return Ok(NextOccurrence {
                next: Some(task),
                created: false,
            });
        }
        query("INSERT INTO task_tags (task_id, tag_id) SELECT $1, tag_id FROM task_tags WHERE task_id = $2")
            .bind(new_id)
            .bind(completed_id)
            .execute(&mut tx)
            .await?;
        // Reminders come along: relative ones as they are, absolute ones shifted by as much as the due date moved.
        let shift = next_due.at_ms() - due.at_ms();
        let reminders: Vec<(Option<i64>, Option<i32>)> =
            query_as("SELECT at, minutes_before FROM reminders WHERE task_id = $1")
                .bind(completed_id)
                .fetch_all(&mut tx)
                .await?;
        for (at, minutes) in reminders {
            let spec = match (at, minutes) {
                (Some(at), _) => ReminderSpec::Absolute(from_ms(at + shift)),
                (None, m) => ReminderSpec::Relative {
                    minutes_before: m.unwrap_or(0).max(0) as u32,
                },
            };
            insert_reminder(&mut tx, new_id, owner, &spec, Some(next_due), now).await?;
        }
        D::refresh_derived(&mut tx, new_id).await?;
        let task = load_task(&mut tx, owner, new_id, now).await?;
        self.emit_task_event(&mut tx, owner, kind::TASK_CREATED, &task, vec![], now)
            .await?;
        // After the task's own event, so a consumer meets the parent before its subtasks.
        self.copy_descendants(&mut tx, owner, completed_id, new_id, shift, now)
            .await?;
        let task = load_task(&mut tx, owner, new_id, now).await?;
        tx.commit().await?;
        Ok(NextOccurrence {
            next: Some(task),
            created: true,
        })
    }
}
