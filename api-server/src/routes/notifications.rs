//! Where your reminders go: notification settings (email on or off, and the address) and personal
//! webhooks, each with its own URL and signing secret, a test send and how its deliveries went.
//!
//! A login session or a read-write access token may change them; a read-only token may read them
//! (`Auth`). A webhook's secret is in the answers that create it or rotate it, and nowhere else. Another
//! user's webhook is a 404 on every route, like a missing one.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::CommonErrors;
use crate::server::EVENT_SOURCE;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Serialize;
use todo_core::store::{
    CreatedWebhook, NotificationSettings, NotificationSettingsInput, Owner, Webhook, WebhookInput,
    WebhookPatch, WebhookTest,
};
use todo_core::{Store, StoreError};
use todo_worker::deliveries::{self, WebhookDeliveries};
use todo_worker::webhook::PersonalWebhooks;
use uuid::Uuid;

/// A webhook and how reminders to it have gone.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Its reminder deliveries: how many were sent, are pending or failed, and the latest.
    pub deliveries: WebhookDeliveries,
}

/// A webhook just created, or its secret just rotated: the secret is shown only this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedWebhookView {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The key of its `X-Todo-Signature` (HMAC-SHA256 of `"{X-Todo-Timestamp}.{body}"`, hex, after
    /// `sha256=`). Shown only in this response; store it now.
    pub secret: String,
}

fn db(e: sqlx::Error) -> ApiError {
    ApiError::from(StoreError::Database(e))
}

async fn view(s: &AppState, owner: &Owner, webhook: Webhook) -> ApiResult<WebhookView> {
    let mut all = deliveries::webhook_deliveries(&s.store, owner.id)
        .await
        .map_err(db)?;
    Ok(WebhookView {
        deliveries: all.remove(&webhook.id).unwrap_or_default(),
        webhook,
    })
}

async fn created(s: &AppState, owner: &Owner, c: CreatedWebhook) -> ApiResult<CreatedWebhookView> {
    Ok(CreatedWebhookView {
        webhook: view(s, owner, c.webhook).await?,
        secret: c.secret,
    })
}

/// The owner's webhooks, oldest first, each with its deliveries.
pub async fn webhook_views(store: &Store, owner: &Owner) -> ApiResult<Vec<WebhookView>> {
    let hooks = store.list_webhooks(owner).await?;
    let mut all = deliveries::webhook_deliveries(store, owner.id)
        .await
        .map_err(db)?;
    Ok(hooks
        .into_iter()
        .map(|webhook| WebhookView {
            deliveries: all.remove(&webhook.id).unwrap_or_default(),
            webhook,
        })
        .collect())
}

/// Your notification settings: whether reminders are emailed, and to which address.
#[utoipa::path(get, path = "/api/v1/notifications/settings", tag = "notifications",
    responses((status = 200, body = NotificationSettings), CommonErrors), security(("bearer" = [])))]
pub async fn get_settings(
    State(s): State<AppState>,
    Auth(owner): Auth,
) -> ApiResult<Json<NotificationSettings>> {
    Ok(Json(s.store.notification_settings(&owner).await?))
}

/// Set whether reminders are emailed and to which address (null: the account's email, following it
/// when it changes). Your webhooks are set with `/api/v1/webhooks`.
#[utoipa::path(put, path = "/api/v1/notifications/settings", tag = "notifications",
    request_body = NotificationSettingsInput,
    responses((status = 200, body = NotificationSettings), CommonErrors), security(("bearer" = [])))]
pub async fn put_settings(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiJson(input): ApiJson<NotificationSettingsInput>,
) -> ApiResult<Json<NotificationSettings>> {
    Ok(Json(
        s.store
            .set_notification_settings(&owner, input, Timestamp::now())
            .await?,
    ))
}

/// Your webhooks, oldest first, with how their deliveries went; never their secrets.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "notifications",
    responses((status = 200, body = Vec<WebhookView>), CommonErrors), security(("bearer" = [])))]
pub async fn list_webhooks(
    State(s): State<AppState>,
    Auth(owner): Auth,
) -> ApiResult<Json<Vec<WebhookView>>> {
    Ok(Json(webhook_views(&s.store, &owner).await?))
}

/// Add a webhook: every reminder of yours is POSTed to it as a CloudEvent (`todo.reminder.due.v1`),
/// signed with its own secret — generated here and shown only in this answer. At most 10 (409
/// `too_many_webhooks`). Unless the platform allows it, a webhook on a loopback, private or link-local
/// address is refused when sending.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "notifications", request_body = WebhookInput,
    responses((status = 201, body = CreatedWebhookView),
        (status = 409, body = crate::error::ErrorBody, description = "Already 10 webhooks (`too_many_webhooks`)"),
        CommonErrors), security(("bearer" = [])))]
pub async fn create_webhook(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiJson(input): ApiJson<WebhookInput>,
) -> ApiResult<(StatusCode, Json<CreatedWebhookView>)> {
    let c = s
        .store
        .create_webhook(&owner, input, Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(created(&s, &owner, c).await?)))
}

/// One of your webhooks, with how its deliveries went.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "notifications", params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookView), CommonErrors), security(("bearer" = [])))]
pub async fn get_webhook(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<WebhookView>> {
    let webhook = s.store.webhook(&owner, id).await?;
    Ok(Json(view(&s, &owner, webhook).await?))
}

/// Rename a webhook, change its URL, or enable or disable it (a disabled one gets no reminders, and
/// reminders still being retried to it are dropped).
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "notifications", params(("id" = Uuid, Path)),
    request_body = WebhookPatch,
    responses((status = 200, body = WebhookView), CommonErrors), security(("bearer" = [])))]
pub async fn update_webhook(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<WebhookPatch>,
) -> ApiResult<Json<WebhookView>> {
    let webhook = s
        .store
        .update_webhook(&owner, id, patch, Timestamp::now())
        .await?;
    Ok(Json(view(&s, &owner, webhook).await?))
}

/// Delete a webhook: it gets no more reminders.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "notifications", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), CommonErrors), security(("bearer" = [])))]
pub async fn delete_webhook(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    s.store.delete_webhook(&owner, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a test now: a signed CloudEvent of type `todo.webhook.test.v1`, whether the webhook is enabled
/// or not. The answer is what the webhook did (its HTTP status, or why there was none), also kept as
/// its `last_test`. A webhook that answered is a 200 whatever its status; see `ok`.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "notifications", params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookTest), CommonErrors), security(("bearer" = [])))]
pub async fn test_webhook(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<WebhookTest>> {
    let target = s.store.webhook_target(&owner, id).await?;
    let client = PersonalWebhooks::new(s.config.notify.allow_private_webhooks()).map_err(|e| {
        tracing::error!(error = %e, "cannot build the webhook client");
        ApiError::internal()
    })?;
    let answer = client
        .send_test(&target.url, &target.secret, target.id, EVENT_SOURCE)
        .await;
    // To the millisecond, as it is stored, so this answer is what the webhook shows as its last test.
    let at = Timestamp::from_millisecond(Timestamp::now().as_millisecond())
        .map_err(|_| ApiError::internal())?;
    let test = WebhookTest {
        at,
        ok: answer.error().is_none(),
        status_code: answer.status_code(),
        error: answer.error(),
    };
    s.store.record_webhook_test(&owner, id, &test).await?;
    Ok(Json(test))
}

/// Give a webhook a new secret: deliveries are signed with it from now on (retries included). The
/// answer holds it, shown only this once.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "notifications",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = CreatedWebhookView), CommonErrors), security(("bearer" = [])))]
pub async fn rotate_secret(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<CreatedWebhookView>> {
    let c = s
        .store
        .rotate_webhook_secret(&owner, id, Timestamp::now())
        .await?;
    Ok(Json(created(&s, &owner, c).await?))
}
