//! Reminders: stored with their next fire time; fired exactly once by `fire_due_reminders`, which turns each
//! due reminder into a `todo.reminder.due.v1` event in the same transaction that marks it fired.

use crate::domain::reminder::{MAX_REMINDERS_PER_TASK, ReminderInput};
use crate::error::{Invalid, StoreError, StoreResult};
use crate::events::{CloudEvent, ReminderDueData, kind, topic};
use crate::model::Reminder;
use crate::store::rows::ReminderRow;
use crate::store::tasks::{insert_reminder, load_task};
use crate::store::{BeginWrite, Owner, Store, from_ms, ms, on_pool};
use jiff::Timestamp;
use uuid::Uuid;

/// Recompute fire times of all unfired relative reminders of a user (after a zone change).
macro_rules! recompute_for_user {
    ($exec:expr, $user_id:expr, $tz:expr) => {{
        let rows: Vec<(uuid::Uuid, Option<i64>, bool, i32)> = sqlx::query_as(
            "SELECT r.id, t.due_at, t.due_all_day, r.minutes_before FROM reminders r JOIN tasks t ON t.id = r.task_id \
             WHERE r.user_id = $1 AND r.minutes_before IS NOT NULL AND r.fired_at IS NULL",
        )
        .bind($user_id)
        .fetch_all($exec)
        .await?;
        for (id, due_at, all_day, minutes) in rows {
            let due = due_at.map(|at| $crate::domain::due::Due::from_stored(at, all_day));
            let spec = $crate::domain::reminder::ReminderSpec::Relative { minutes_before: minutes.max(0) as u32 };
            sqlx::query("UPDATE reminders SET fire_at = $1 WHERE id = $2")
                .bind(spec.fire_at(due, $tz).map($crate::store::ms))
                .bind(id)
                .execute($exec)
                .await?;
        }
    }};
}
pub(crate) use recompute_for_user;

/// A reminder that fired, as the event carries it.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub reminder_id: Uuid,
    pub event_id: Uuid,
    pub task_id: Uuid,
    pub user_id: Uuid,
}

impl Store {
    pub async fn list_reminders(&self, owner: &Owner, task_id: Uuid) -> StoreResult<Vec<Reminder>> {
        let rows: Vec<ReminderRow> = on_pool!(self, p => {
            let task: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM tasks WHERE id = $1 AND user_id = $2")
                .bind(task_id).bind(owner.id).fetch_optional(p).await?;
            if task.is_none() {
                return Err(StoreError::NotFound("task"));
            }
            sqlx::query_as(
                "SELECT id, task_id, at, minutes_before, fire_at, fired_at, fired_event_id FROM reminders WHERE task_id = $1 ORDER BY fire_at IS NULL, fire_at, id",
            ).bind(task_id).fetch_all(p).await?
        });
        Ok(rows.into_iter().map(ReminderRow::into_model).collect())
    }

    pub async fn add_reminder(
        &self,
        owner: &Owner,
        task_id: Uuid,
        input: ReminderInput,
        now: Timestamp,
    ) -> StoreResult<Reminder> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let row: Option<(Option<i64>, bool)> = sqlx::query_as("SELECT due_at, due_all_day FROM tasks WHERE id = $1 AND user_id = $2")
                .bind(task_id).bind(owner.id).fetch_optional(&mut *tx).await?;
            let Some((due_at, all_day)) = row else { return Err(StoreError::NotFound("task")) };
            let due = due_at.map(|at| crate::domain::due::Due::from_stored(at, all_day));
            let spec = input.into_spec(&owner.tz, due)?;
            let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM reminders WHERE task_id = $1").bind(task_id).fetch_one(&mut *tx).await?;
            if count as usize >= MAX_REMINDERS_PER_TASK {
                return Err(Invalid::new("too_many", "reminders", format!("a task has at most {MAX_REMINDERS_PER_TASK} reminders")).into());
            }
            let reminder = insert_reminder!(tx, task_id, owner, &spec, due, now);
            tx.commit().await?;
            Ok(reminder)
        })
    }

    pub async fn delete_reminder(
        &self,
        owner: &Owner,
        task_id: Uuid,
        reminder_id: Uuid,
    ) -> StoreResult<()> {
        let n = on_pool!(self, p => {
            sqlx::query("DELETE FROM reminders WHERE id = $1 AND task_id = $2 AND user_id = $3")
                .bind(reminder_id).bind(task_id).bind(owner.id).execute(p).await?.rows_affected()
        });
        if n == 0 {
            Err(StoreError::NotFound("reminder"))
        } else {
            Ok(())
        }
    }

    /// The earliest pending fire time, so a dev-mode timer can sleep exactly until then.
    pub async fn next_reminder_at(&self) -> StoreResult<Option<Timestamp>> {
        let row: Option<(Option<i64>,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT MIN(fire_at) FROM reminders WHERE fired_at IS NULL AND fire_at IS NOT NULL").fetch_optional(p).await?
        });
        Ok(row.and_then(|(v,)| v).map(from_ms))
    }

    /// Fire up to `limit` due reminders: each is marked fired and its `reminder.due` event written to the
    /// outbox in one transaction, so a reminder fires once however many replicas scan at the same moment
    /// (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the write lock). Reminders of completed tasks are
    /// retired without an event.
    pub async fn fire_due_reminders(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<DueReminder>> {
        let pg = self.is_postgres();
        let fired = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let sql = format!(
                "SELECT r.id, r.task_id, r.user_id, r.fire_at FROM reminders r WHERE r.fired_at IS NULL AND r.fire_at IS NOT NULL \
                 AND r.fire_at <= $1 ORDER BY r.fire_at LIMIT $2{}",
                if pg { " FOR UPDATE OF r SKIP LOCKED" } else { "" }
            );
            let due: Vec<(Uuid, Uuid, Uuid, i64)> = sqlx::query_as(&sql).bind(ms(now)).bind(i64::from(limit)).fetch_all(&mut *tx).await?;
            let mut fired = Vec::with_capacity(due.len());
            for (reminder_id, task_id, user_id, fire_at) in due {
                // Marked fired with its event's id first, so the event's task shows it fired.
                let event_id = Uuid::now_v7();
                sqlx::query("UPDATE reminders SET fired_at = $1, fired_event_id = $2 WHERE id = $3")
                    .bind(ms(now)).bind(event_id).bind(reminder_id).execute(&mut *tx).await?;
                let owner = {
                    let row: (Uuid, String, String, String, i64) = sqlx::query_as(
                        "SELECT id, email, display_name, time_zone, created_at FROM users WHERE id = $1",
                    ).bind(user_id).fetch_one(&mut *tx).await?;
                    Owner {
                        tz: crate::domain::time_zone::stored_time_zone(&row.3),
                        id: row.0, email: row.1, display_name: row.2, time_zone: row.3, created_at: from_ms(row.4),
                    }
                };
                let task = load_task!(&mut *tx, &owner, task_id, now);
                if task.status == crate::domain::task::Status::Completed {
                    // Retired without an event.
                    sqlx::query("UPDATE reminders SET fired_event_id = NULL WHERE id = $1").bind(reminder_id).execute(&mut *tx).await?;
                    continue;
                }
                let data = ReminderDueData { reminder_id, fire_at: from_ms(fire_at), task, user: owner.event_user() };
                let mut event = CloudEvent::new(
                    self.event_source(), kind::REMINDER_DUE, task_id, user_id, now,
                    serde_json::to_value(&data).map_err(crate::store::encode_error)?,
                );
                event.id = event_id;
                crate::store::outbox::insert_event!(tx, self, &event, &[topic::REMINDERS], now);
                fired.push(DueReminder { reminder_id, event_id: event.id, task_id, user_id });
            }
            tx.commit().await?;
            fired
        });
        if !fired.is_empty() {
            self.outbox_wake().notify_one();
        }
        Ok(fired)
    }
}
