//! Reminders: stored with their next fire time; fired exactly once by `fire_due_reminders`, which turns each
//! due reminder into a `todo.reminder.due.v1` event in the same transaction that marks it fired.

use crate::domain::due::Due;
use crate::domain::reminder::{MAX_REMINDERS_PER_TASK, ReminderInput};
use crate::domain::task::Status;
use crate::error::{Invalid, StoreError, StoreResult};
use crate::events::{CloudEvent, ReminderDismissedData, ReminderDueData, kind, topic};
use crate::model::{Alert, Reminder};
use crate::store::dialect::{Dialect, query, query_as};
use crate::store::outbox::insert_event;
use crate::store::rows::{
    Owner, ReminderRow, insert_reminder, load_owner, load_row_for_update, load_task,
};
use crate::store::{Pool, Store, encode_error, from_ms, ms};
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

/// How long a fired reminder stays an alert when it is neither dismissed nor snoozed: a week, so a user
/// away for a weekend still finds Friday's reminders, and an alert nobody looks at does not stay forever.
pub const ALERT_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);
/// Alerts returned at most, newest first.
pub const MAX_ALERTS: u32 = 50;

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
        let rows = match &self.pool {
            Pool::Postgres(p) => list_reminders(p, owner, task_id).await?,
            Pool::Sqlite(p) => list_reminders(p, owner, task_id).await?,
        };
        Ok(rows.into_iter().map(ReminderRow::into_model).collect())
    }

    pub async fn add_reminder(
        &self,
        owner: &Owner,
        task_id: Uuid,
        input: ReminderInput,
        now: Timestamp,
    ) -> StoreResult<Reminder> {
        match &self.pool {
            Pool::Postgres(p) => add_reminder(p, owner, task_id, input, now).await,
            Pool::Sqlite(p) => add_reminder(p, owner, task_id, input, now).await,
        }
    }

    pub async fn delete_reminder(
        &self,
        owner: &Owner,
        task_id: Uuid,
        reminder_id: Uuid,
    ) -> StoreResult<()> {
        let n = match &self.pool {
            Pool::Postgres(p) => delete_reminder(p, owner, task_id, reminder_id).await?,
            Pool::Sqlite(p) => delete_reminder(p, owner, task_id, reminder_id).await?,
        };
        if n == 0 {
            Err(StoreError::NotFound("reminder"))
        } else {
            Ok(())
        }
    }

    /// Snooze a reminder: it fires (again) at `at`, with a new event and new notifications. The task's
    /// other fields stay; a later change of its due date re-plans the reminder from its own definition.
    /// A completed task's reminder is a 409 `task_completed`.
    pub async fn snooze_reminder(
        &self,
        owner: &Owner,
        task_id: Uuid,
        reminder_id: Uuid,
        at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Reminder> {
        let reminder = match &self.pool {
            Pool::Postgres(p) => {
                self.snooze_on(p, owner, task_id, reminder_id, at, now)
                    .await?
            }
            Pool::Sqlite(p) => {
                self.snooze_on(p, owner, task_id, reminder_id, at, now)
                    .await?
            }
        };
        self.outbox_wake().notify_one();
        Ok(reminder)
    }

    async fn snooze_on<D: Dialect>(
        &self,
        pool: &sqlx::Pool<D>,
        owner: &Owner,
        task_id: Uuid,
        reminder_id: Uuid,
        at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Reminder> {
        let mut tx = D::begin_write(pool).await?;
        load_row_for_update(&mut tx, owner, task_id).await?;
        let task = load_task(&mut tx, owner, task_id, now).await?;
        if task.status == Status::Completed {
            return Err(StoreError::Conflict {
                code: "task_completed",
                field: "status",
                message: "the task is completed; reopen it to be reminded again".into(),
            });
        }
        let snoozed = query(
            "UPDATE reminders SET fire_at = $1, fired_at = NULL, fired_event_id = NULL, claimed_until = NULL, \
             dismissed_at = NULL WHERE id = $2 AND task_id = $3",
        )
        .bind(ms(at))
        .bind(reminder_id)
        .bind(task_id)
        .execute(&mut tx)
        .await?;
        if snoozed == 0 {
            return Err(StoreError::NotFound("reminder"));
        }
        let task = load_task(&mut tx, owner, task_id, now).await?;
        let changed = vec!["reminders".to_owned()];
        self.emit_task_event(&mut tx, owner, kind::TASK_UPDATED, &task, changed, now)
            .await?;
        tx.commit().await?;
        task.reminders
            .into_iter()
            .find(|r| r.id == reminder_id)
            .ok_or(StoreError::NotFound("reminder"))
    }

    /// The owner's alerts: reminders that fired within [`ALERT_WINDOW`] and were neither dismissed nor
    /// snoozed since, of tasks still open; newest first, at most [`MAX_ALERTS`].
    pub async fn alerts(&self, owner: &Owner, now: Timestamp) -> StoreResult<Vec<Alert>> {
        match &self.pool {
            Pool::Postgres(p) => alerts(p, owner, now).await,
            Pool::Sqlite(p) => alerts(p, owner, now).await,
        }
    }

    /// Dismiss a fired reminder's alert: it leaves the owner's alerts, and a `todo.reminder.dismissed.v1`
    /// event takes it out of their other open tabs. Dismissing again is a no-op; a reminder that has not
    /// fired (or was snoozed since) is a 409 `not_fired`. The reminder itself stays, and fires again if it
    /// is re-armed (snooze, a moved due date).
    pub async fn dismiss_reminder(
        &self,
        owner: &Owner,
        task_id: Uuid,
        reminder_id: Uuid,
        now: Timestamp,
    ) -> StoreResult<()> {
        let dismissed = match &self.pool {
            Pool::Postgres(p) => self.dismiss_on(p, owner, task_id, reminder_id, now).await?,
            Pool::Sqlite(p) => self.dismiss_on(p, owner, task_id, reminder_id, now).await?,
        };
        if dismissed {
            self.outbox_wake().notify_one();
        }
        Ok(())
    }

    /// Whether it was dismissed now (false: it already was).
    async fn dismiss_on<D: Dialect>(
        &self,
        pool: &sqlx::Pool<D>,
        owner: &Owner,
        task_id: Uuid,
        reminder_id: Uuid,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = D::begin_write(pool).await?;
        let found: Option<(Option<i64>, Option<i64>)> = query_as(
            "SELECT fired_at, dismissed_at FROM reminders WHERE id = $1 AND task_id = $2 AND user_id = $3",
        )
        .bind(reminder_id)
        .bind(task_id)
        .bind(owner.id)
        .fetch_optional(&mut tx)
        .await?;
        match found {
            None => return Err(StoreError::NotFound("reminder")),
            Some((None, _)) => {
                return Err(StoreError::Conflict {
                    code: "not_fired",
                    field: "reminder_id",
                    message:
                        "this reminder has not fired (or was snoozed); there is nothing to dismiss"
                            .into(),
                });
            }
            Some((Some(_), Some(_))) => return Ok(false),
            Some((Some(_), None)) => {}
        }
        // Only if it is still fired and not dismissed: a concurrent snooze or dismissal wins.
        let n = query(
            "UPDATE reminders SET dismissed_at = $1 \
             WHERE id = $2 AND fired_at IS NOT NULL AND dismissed_at IS NULL",
        )
        .bind(ms(now))
        .bind(reminder_id)
        .execute(&mut tx)
        .await?;
        if n == 0 {
            return Ok(false);
        }
        let data = ReminderDismissedData {
            reminder_id,
            task_id,
        };
        self.emit_live_event(
            &mut tx,
            owner,
            kind::REMINDER_DISMISSED,
            task_id,
            &data,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The earliest pending fire time, so a dev-mode timer can sleep exactly until then.
    pub async fn next_reminder_at(&self) -> StoreResult<Option<Timestamp>> {
        let row = match &self.pool {
            Pool::Postgres(p) => next_reminder_at(p).await?,
            Pool::Sqlite(p) => next_reminder_at(p).await?,
        };
        Ok(row.and_then(|(v,)| v).map(from_ms))
    }

    /// Fire up to `limit` due reminders: each is marked fired and its `reminder.due` event written to the
    /// outbox in one transaction, so a reminder fires once however many replicas scan at the same moment
    /// (see [`Dialect::DUE_REMINDERS`]). Reminders of completed tasks are retired without an event.
    pub async fn fire_due_reminders(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<DueReminder>> {
        let fired = match &self.pool {
            Pool::Postgres(p) => self.fire_due_reminders_on(p, now, limit).await?,
            Pool::Sqlite(p) => self.fire_due_reminders_on(p, now, limit).await?,
        };
        if !fired.is_empty() {
            self.outbox_wake().notify_one();
        }
        Ok(fired)
    }

    async fn fire_due_reminders_on<D: Dialect>(
        &self,
        pool: &sqlx::Pool<D>,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<DueReminder>> {
        let mut tx = D::begin_write(pool).await?;
        let due: Vec<(Uuid, Uuid, Uuid, i64)> = query_as(D::DUE_REMINDERS)
            .bind(ms(now))
            .bind(i64::from(limit))
            .fetch_all(&mut tx)
            .await?;
        let mut fired = Vec::with_capacity(due.len());
        for (reminder_id, task_id, user_id, fire_at) in due {
            // Marked fired with its event's id first, so the event's task shows it fired.
            let event_id = Uuid::now_v7();
            query("UPDATE reminders SET fired_at = $1, fired_event_id = $2, dismissed_at = NULL WHERE id = $3")
                .bind(ms(now))
                .bind(event_id)
                .bind(reminder_id)
                .execute(&mut tx)
                .await?;
            let owner = load_owner(&mut tx, user_id).await?;
            let task = load_task(&mut tx, &owner, task_id, now).await?;
            if task.status == Status::Completed {
                // Retired without an event.
                query("UPDATE reminders SET fired_event_id = NULL WHERE id = $1")
                    .bind(reminder_id)
                    .execute(&mut tx)
                    .await?;
                continue;
            }
            let data = ReminderDueData {
                reminder_id,
                fire_at: from_ms(fire_at),
                task,
                user: owner.event_user(),
            };
            let mut event = CloudEvent::new(
                self.event_source(),
                kind::REMINDER_DUE,
                task_id,
                user_id,
                now,
                serde_json::to_value(&data).map_err(encode_error)?,
            );
            event.id = event_id;
            // On task-updates too: the API streams it to the user's open browser tabs.
            insert_event(
                &mut tx,
                &event,
                &[topic::REMINDERS, topic::TASK_UPDATES],
                now,
            )
            .await?;
            fired.push(DueReminder {
                reminder_id,
                event_id: event.id,
                task_id,
                user_id,
            });
        }
        tx.commit().await?;
        Ok(fired)
    }
}

async fn alerts<D: Dialect>(
    pool: &sqlx::Pool<D>,
    owner: &Owner,
    now: Timestamp,
) -> StoreResult<Vec<Alert>> {
    let mut conn = pool.acquire().await?;
    // A reminder retired without an event (its task was completed when it came due) has no event id.
    let rows: Vec<(Uuid, Uuid, Option<i64>, i64)> = query_as(
        "SELECT r.id, r.task_id, r.fire_at, r.fired_at FROM reminders r JOIN tasks t ON t.id = r.task_id \
         WHERE r.user_id = $1 AND r.fired_at IS NOT NULL AND r.dismissed_at IS NULL \
         AND r.fired_event_id IS NOT NULL AND r.fired_at >= $2 AND t.status <> 'completed' \
         ORDER BY r.fired_at DESC, r.fire_at DESC, r.id LIMIT $3",
    )
    .bind(owner.id)
    .bind(ms(now - ALERT_WINDOW))
    .bind(i64::from(MAX_ALERTS))
    .fetch_all(&mut conn)
    .await?;
    let mut alerts = Vec::with_capacity(rows.len());
    for (reminder_id, task_id, fire_at, fired_at) in rows {
        alerts.push(Alert {
            reminder_id,
            fire_at: from_ms(fire_at.unwrap_or(fired_at)),
            fired_at: from_ms(fired_at),
            task: load_task(&mut conn, owner, task_id, now).await?,
        });
    }
    Ok(alerts)
}

async fn list_reminders<D: Dialect>(
    pool: &sqlx::Pool<D>,
    owner: &Owner,
    task_id: Uuid,
) -> StoreResult<Vec<ReminderRow>> {
    let mut conn = pool.acquire().await?;
    let task: Option<(Uuid,)> = query_as("SELECT id FROM tasks WHERE id = $1 AND user_id = $2")
        .bind(task_id)
        .bind(owner.id)
        .fetch_optional(&mut conn)
        .await?;
    if task.is_none() {
        return Err(StoreError::NotFound("task"));
    }
    Ok(query_as(
        "SELECT id, task_id, at, minutes_before, fire_at, fired_at, fired_event_id FROM reminders \
         WHERE task_id = $1 ORDER BY fire_at IS NULL, fire_at, id",
    )
    .bind(task_id)
    .fetch_all(&mut conn)
    .await?)
}

async fn add_reminder<D: Dialect>(
    pool: &sqlx::Pool<D>,
    owner: &Owner,
    task_id: Uuid,
    input: ReminderInput,
    now: Timestamp,
) -> StoreResult<Reminder> {
    let mut tx = D::begin_write(pool).await?;
    let row: Option<(Option<i64>, bool)> =
        query_as("SELECT due_at, due_all_day FROM tasks WHERE id = $1 AND user_id = $2")
            .bind(task_id)
            .bind(owner.id)
            .fetch_optional(&mut tx)
            .await?;
    let Some((due_at, all_day)) = row else {
        return Err(StoreError::NotFound("task"));
    };
    let due = due_at.map(|at| Due::from_stored(at, all_day));
    let spec = input.into_spec(&owner.tz, due)?;
    let (count,): (i64,) = query_as("SELECT COUNT(*) FROM reminders WHERE task_id = $1")
        .bind(task_id)
        .fetch_one(&mut tx)
        .await?;
    if count as usize >= MAX_REMINDERS_PER_TASK {
        return Err(Invalid::new(
            "too_many",
            "reminders",
            format!("a task has at most {MAX_REMINDERS_PER_TASK} reminders"),
        )
        .into());
    }
    let reminder = insert_reminder(&mut tx, task_id, owner, &spec, due, now).await?;
    tx.commit().await?;
    Ok(reminder)
}

async fn delete_reminder<D: Dialect>(
    pool: &sqlx::Pool<D>,
    owner: &Owner,
    task_id: Uuid,
    reminder_id: Uuid,
) -> StoreResult<u64> {
    Ok(
        query("DELETE FROM reminders WHERE id = $1 AND task_id = $2 AND user_id = $3")
            .bind(reminder_id)
            .bind(task_id)
            .bind(owner.id)
            .execute(&mut pool.acquire().await?)
            .await?,
    )
}

async fn next_reminder_at<D: Dialect>(pool: &sqlx::Pool<D>) -> StoreResult<Option<(Option<i64>,)>> {
    Ok(query_as(
        "SELECT MIN(fire_at) FROM reminders WHERE fired_at IS NULL AND fire_at IS NOT NULL",
    )
    .fetch_optional(&mut pool.acquire().await?)
    .await?)
}
