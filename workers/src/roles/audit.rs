//! audit: every task event becomes one row of the task's activity log (keyed by event id, so a
//! redelivered event is recorded once).

use jiff::Timestamp;
use serde::Serialize;
use todo_core::Store;
use todo_core::events::{CloudEvent, TaskEventData};
use todo_core::store::Pool;
use todo_core::store::dialect::{Dialect, query, query_as};
use todo_events::bus::Outcome;
use uuid::Uuid;

pub async fn handle(store: &Store, event: &CloudEvent) -> Outcome {
    if !event.kind.starts_with("todo.task.") {
        return Outcome::Success;
    }
    let data: TaskEventData = match serde_json::from_value(event.data.clone()) {
        Ok(d) => d,
        Err(e) => return Outcome::Drop(format!("malformed task event: {e}")),
    };
    let result = match store.pool() {
        Pool::Postgres(p) => record(p, event, &data).await,
        Pool::Sqlite(p) => record(p, event, &data).await,
    };
    match result {
        Ok(_) => Outcome::Success,
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

async fn record<D: Dialect>(
    pool: &sqlx::Pool<D>,
    event: &CloudEvent,
    data: &TaskEventData,
) -> Result<u64, sqlx::Error> {
    query(
        "INSERT INTO worker_activity (event_id, user_id, task_id, kind, title, changed, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(event.id)
    .bind(data.user.id)
    .bind(data.task.id)
    .bind(&event.kind)
    .bind(&data.task.title)
    .bind(data.changed.join(","))
    .bind(event.time.as_millisecond())
    .execute(&mut pool.acquire().await?)
    .await
}

/// One entry of a task's history.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Activity {
    pub event_id: Uuid,
    /// CloudEvent type, e.g. `todo.task.completed.v1`.
    pub kind: String,
    /// The task's title at that moment.
    pub title: String,
    /// Fields an update changed.
    pub changed: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// A task's history, oldest first, scoped to its owner (empty for someone else's task).
pub async fn history(
    store: &Store,
    user_id: Uuid,
    task_id: Uuid,
) -> Result<Vec<Activity>, sqlx::Error> {
    let rows = match store.pool() {
        Pool::Postgres(p) => history_rows(p, user_id, task_id).await?,
        Pool::Sqlite(p) => history_rows(p, user_id, task_id).await?,
    };
    Ok(rows
        .into_iter()
        .map(|(event_id, kind, title, changed, at)| Activity {
            event_id,
            kind,
            title,
            changed: changed
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            at: Timestamp::from_millisecond(at).unwrap_or(Timestamp::UNIX_EPOCH),
        })
        .collect())
}

/// A task's activity rows: `event_id, kind, title, changed, at`.
type ActivityRow = (Uuid, String, String, String, i64);

async fn history_rows<D: Dialect>(
    pool: &sqlx::Pool<D>,
    user_id: Uuid,
    task_id: Uuid,
) -> Result<Vec<ActivityRow>, sqlx::Error> {
    query_as(
        "SELECT event_id, kind, title, changed, at FROM worker_activity WHERE user_id = $1 AND task_id = $2 ORDER BY at, event_id",
    )
    .bind(user_id)
    .bind(task_id)
    .fetch_all(&mut pool.acquire().await?)
    .await
}
