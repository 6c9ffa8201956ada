use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::CommonErrors;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use todo_core::domain::reminder::{ReminderInput, SnoozeInput};
use todo_core::model::{Alert, Reminder};
use uuid::Uuid;

/// A task's reminders with their next fire times, and for those that fired, what became of each
/// channel's notification.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/reminders", tag = "reminders", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Reminder>), CommonErrors), security(("bearer" = [])))]
pub async fn list_reminders(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<Reminder>>> {
    let mut reminders = s.store.list_reminders(&owner, id).await?;
    let mut refs: Vec<&mut Reminder> = reminders.iter_mut().collect();
    crate::routes::deliveries::attach_to_reminders(&s.store, owner.id, &mut refs).await?;
    Ok(Json(reminders))
}

/// Add a reminder: `at` (a moment) or `minutes_before` the due time (follows the due date when it moves,
/// and fires again when the due date moves after it fired and its new time is still ahead).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reminders", tag = "reminders", params(("id" = Uuid, Path)), request_body = ReminderInput,
    responses((status = 201, body = Reminder), CommonErrors), security(("bearer" = [])))]
pub async fn add_reminder(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ReminderInput>,
) -> ApiResult<(StatusCode, Json<Reminder>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.store
                .add_reminder(&owner, id, input, Timestamp::now())
                .await?,
        ),
    ))
}

#[utoipa::path(delete, path = "/api/v1/tasks/{id}/reminders/{reminder_id}", tag = "reminders",
    params(("id" = Uuid, Path), ("reminder_id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), CommonErrors), security(("bearer" = [])))]
pub async fn delete_reminder(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath((id, rid)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    s.store.delete_reminder(&owner, id, rid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Snooze a reminder: it fires again in `minutes` or at `until` (within a week), as a new notification on
/// every channel and in open browser tabs. A completed task's reminder is a 409 `task_completed`.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reminders/{reminder_id}/snooze", tag = "reminders",
    params(("id" = Uuid, Path), ("reminder_id" = Uuid, Path)), request_body = SnoozeInput,
    responses((status = 200, body = Reminder),
        (status = 409, body = crate::error::ErrorBody, description = "The task is completed (`task_completed`)"),
        CommonErrors), security(("bearer" = [])))]
pub async fn snooze_reminder(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath((id, rid)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<SnoozeInput>,
) -> ApiResult<Json<Reminder>> {
    let now = Timestamp::now();
    let at = input.fire_at(&owner.tz, now)?;
    Ok(Json(
        s.store.snooze_reminder(&owner, id, rid, at, now).await?,
    ))
}

/// Your alerts: reminders that fired in the last week and that you have not dismissed or snoozed since,
/// of tasks still open; newest first, at most 50. The web UI shows them (on every device, and after a
/// reload) beside the `todo.reminder.due.v1` events of the live stream, which carry the same fields.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "reminders",
    responses((status = 200, body = Vec<Alert>), CommonErrors), security(("bearer" = [])))]
pub async fn list_alerts(
    State(s): State<AppState>,
    Auth(owner): Auth,
) -> ApiResult<Json<Vec<Alert>>> {
    Ok(Json(s.store.alerts(&owner, Timestamp::now()).await?))
}

/// Dismiss a fired reminder's alert: it leaves your alerts, and your other open tabs drop it (the live
/// stream carries `todo.reminder.dismissed.v1`). Dismissing twice is fine; a reminder that has not fired
/// (or was snoozed since) is a 409 `not_fired`. The reminder stays and fires again if re-armed.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reminders/{reminder_id}/dismiss", tag = "reminders",
    params(("id" = Uuid, Path), ("reminder_id" = Uuid, Path)),
    responses((status = 204, description = "Dismissed"),
        (status = 409, body = crate::error::ErrorBody, description = "The reminder has not fired (`not_fired`)"),
        CommonErrors), security(("bearer" = [])))]
pub async fn dismiss_reminder(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath((id, rid)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    s.store
        .dismiss_reminder(&owner, id, rid, Timestamp::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
