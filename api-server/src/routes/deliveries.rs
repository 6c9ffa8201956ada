//! Reminder notifications as delivered: each reminder's state per channel (pending, retrying, sent,
//! failed with the reason), the user's deliveries, and retrying one that failed. The notifier records
//! deliveries in its own table; the API reads them there, as it reads the audit role's activity, and asks
//! for a retry through the worker crate, which only puts the delivery back in the notifier's queue.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::CommonErrors;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Deserialize;
use std::collections::HashMap;
use todo_core::model::{Delivery, DeliveryStatus, Reminder, ReminderDelivery, Task};
use todo_core::{Invalid, Store, StoreError};
use todo_worker::deliveries::{self, Replay};
use uuid::Uuid;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

fn db(e: sqlx::Error) -> ApiError {
    ApiError::from(StoreError::Database(e))
}

/// Query-string parameters of `GET /api/v1/deliveries`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQueryParams {
    /// Comma-separated statuses: `pending`, `retrying`, `sent`, `failed` (default: all).
    pub status: Option<String>,
    /// How many, newest first: 1..=200 (default 50).
    pub limit: Option<String>,
}

impl DeliveryQueryParams {
    pub fn validate(&self) -> Result<(Vec<DeliveryStatus>, u32), Invalid> {
        let statuses = match &self.status {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    DeliveryStatus::parse(s).ok_or_else(|| {
                        Invalid::new(
                            "invalid_value",
                            "status",
                            format!("{s:?} is not a status (pending, retrying, sent, failed)"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let limit = match self.limit.as_deref().map(str::trim) {
            None => DEFAULT_LIMIT,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(Invalid::new(
                        "out_of_range",
                        "limit",
                        format!("limit must be 1..={MAX_LIMIT}"),
                    ));
                }
            },
        };
        Ok((statuses, limit))
    }
}

/// Your reminders' notifications, newest first: one per reminder firing and target (`email`; `webhook`
/// for each of your webhooks, named by `webhook_id`, and for the platform's when it has one), with
/// where each stands. `?status=failed` lists the ones the notifier gave up on (after retrying for the
/// configured time); retry them with `POST …/retry`.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "reminders", params(DeliveryQueryParams),
    responses((status = 200, body = Vec<Delivery>), CommonErrors), security(("bearer" = [])))]
pub async fn list_deliveries(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiQuery(params): ApiQuery<DeliveryQueryParams>,
) -> ApiResult<Json<Vec<Delivery>>> {
    let (statuses, limit) = params.validate()?;
    Ok(Json(
        deliveries::list(&s.store, owner.id, &statuses, limit)
            .await
            .map_err(db)?,
    ))
}

/// Retry a notification now: a failed one (or one still retrying, without waiting for its backoff) is
/// queued for the notifier with a fresh retry window and answered as `retrying`; the notifier attempts it
/// within seconds. One already sent is a 409 (`already_sent`).
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/retry", tag = "reminders", params(("id" = Uuid, Path)),
    responses((status = 200, body = Delivery), (status = 409, body = ErrorBody, description = "Already sent"), CommonErrors),
    security(("bearer" = [])))]
pub async fn retry_delivery(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Delivery>> {
    retry(&s.store, owner.id, id).await.map(Json)
}

/// Queue one of the user's deliveries for an attempt now.
pub async fn retry(store: &Store, user_id: Uuid, id: Uuid) -> ApiResult<Delivery> {
    match deliveries::replay(store, user_id, id, Timestamp::now())
        .await
        .map_err(db)?
    {
        Replay::Queued(d) => Ok(d),
        Replay::AlreadySent(_) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_sent",
            "this notification was sent; there is nothing to retry",
        )),
        Replay::NotFound => Err(ApiError::not_found("delivery")),
    }
}

/// Fill in each fired reminder's deliveries (one read for all of them; none when nothing fired).
pub async fn attach(store: &Store, user_id: Uuid, tasks: &mut [Task]) -> ApiResult<()> {
    let mut reminders: Vec<&mut Reminder> = tasks
        .iter_mut()
        .flat_map(|t| t.reminders.iter_mut())
        .collect();
    attach_to_reminders(store, user_id, &mut reminders).await
}

/// [`attach`] for reminders.
pub async fn attach_to_reminders(
    store: &Store,
    user_id: Uuid,
    reminders: &mut [&mut Reminder],
) -> ApiResult<()> {
    let events: Vec<Uuid> = reminders.iter().filter_map(|r| r.fired_event_id).collect();
    if events.is_empty() {
        return Ok(());
    }
    let mut by_event: HashMap<Uuid, Vec<ReminderDelivery>> = HashMap::new();
    for d in deliveries::of_events(store, user_id, &events)
        .await
        .map_err(db)?
    {
        by_event.entry(d.event_id).or_default().push(d.into());
    }
    for r in reminders.iter_mut() {
        if let Some(event) = r.fired_event_id {
            r.deliveries = by_event.remove(&event).unwrap_or_default();
        }
    }
    Ok(())
}

/// One task with its reminders' deliveries.
pub async fn with_deliveries(store: &Store, user_id: Uuid, mut task: Task) -> ApiResult<Task> {
    attach(store, user_id, std::slice::from_mut(&mut task)).await?;
    Ok(task)
}
