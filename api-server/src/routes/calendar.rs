//! Calendar feeds: secret ICS URLs a calendar app subscribes to. Created, listed and revoked with a login
//! session (`SessionAuth`), like access tokens, so a leaked token cannot mint feeds; the feed itself needs
//! no Authorization header (calendar apps cannot send one) — its URL's secret is the credential, and the
//! route is logged and measured by its template, never by the path that holds the secret.

use crate::auth::SessionAuth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::CommonErrors;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Serialize;
use todo_core::domain::ical;
use todo_core::store::{CalendarFeed, CalendarFeedInput};
use uuid::Uuid;

/// Where the feed is served; `{file}` is `<secret>.ics`.
pub const FEED_PATH: &str = "/api/v1/calendar";

/// A feed just created: its URL holds the secret and is shown only this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedFeedView {
    #[serde(flatten)]
    pub feed: CalendarFeed,
    /// Subscribe to this URL in a calendar app. Shown only in this response; store it now.
    pub url: String,
}

/// The URL a client reached this server at: `X-Forwarded-Proto`/`X-Forwarded-Host` behind a proxy or
/// ingress, else the Host header; without either, the path alone.
fn base_url(headers: &HeaderMap) -> String {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let host = get("x-forwarded-host").or_else(|| get(header::HOST.as_str()));
    match host {
        Some(host) => format!("{}://{host}", get("x-forwarded-proto").unwrap_or("http")),
        None => String::new(),
    }
}

/// Create a calendar feed: a secret ICS URL with every task of yours that has a due date, for Google
/// Calendar, Apple Calendar or Thunderbird to subscribe to. The answer holds the URL, shown only this
/// once. Needs a login session.
#[utoipa::path(post, path = "/api/v1/calendar-feeds", tag = "calendar", request_body = CalendarFeedInput,
    responses((status = 201, body = CreatedFeedView), CommonErrors), security(("bearer" = [])))]
pub async fn create_feed(
    State(s): State<AppState>,
    SessionAuth(owner): SessionAuth,
    headers: HeaderMap,
    ApiJson(input): ApiJson<CalendarFeedInput>,
) -> ApiResult<(StatusCode, Json<CreatedFeedView>)> {
    let created = s
        .store
        .create_calendar_feed(&owner, input, Timestamp::now())
        .await?;
    let url = format!("{}{FEED_PATH}/{}.ics", base_url(&headers), created.secret);
    Ok((
        StatusCode::CREATED,
        Json(CreatedFeedView {
            feed: created.feed,
            url,
        }),
    ))
}

/// Your calendar feeds, oldest first, without their URLs. Needs a login session.
#[utoipa::path(get, path = "/api/v1/calendar-feeds", tag = "calendar",
    responses((status = 200, body = Vec<CalendarFeed>), CommonErrors), security(("bearer" = [])))]
pub async fn list_feeds(
    State(s): State<AppState>,
    SessionAuth(owner): SessionAuth,
) -> ApiResult<Json<Vec<CalendarFeed>>> {
    Ok(Json(s.store.list_calendar_feeds(&owner).await?))
}

/// Revoke a calendar feed: its URL answers 404 from now on. Needs a login session.
#[utoipa::path(delete, path = "/api/v1/calendar-feeds/{id}", tag = "calendar", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Revoked"), CommonErrors), security(("bearer" = [])))]
pub async fn revoke_feed(
    State(s): State<AppState>,
    SessionAuth(owner): SessionAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    s.store.revoke_calendar_feed(&owner, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Bumped when the feed's text changes shape, so calendars holding an old ETag fetch the new one.
const FORMAT: &str = "ics-1";

/// The feed: an iCalendar (RFC 5545) of the owner's dated tasks, one VEVENT each (recurring ones as a
/// series, completed ones marked ✓), in the owner's zone. No Authorization header: the secret in the URL
/// is the credential. Unknown and revoked secrets are the same 404. Send `If-None-Match` with the last
/// ETag to get a 304 while nothing changed.
#[utoipa::path(get, path = "/api/v1/calendar/{file}", tag = "calendar",
    params(("file" = String, Path, description = "`<secret>.ics`, from the feed's URL")),
    responses(
        (status = 200, description = "The calendar", content_type = "text/calendar", body = String,
         headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag in If-None-Match"),
        (status = 404, description = "No such feed (never created, or revoked)", body = crate::error::ErrorBody)))]
pub async fn feed(
    State(s): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let unknown = || ApiError::not_found("calendar feed");
    let secret = file.strip_suffix(".ics").ok_or_else(unknown)?;
    let grant = s
        .store
        .find_calendar_feed(secret)
        .await?
        .ok_or_else(unknown)?;
    let owner = match s.store.owner(grant.user_id).await {
        Ok(owner) => owner,
        Err(todo_core::StoreError::NotFound(_)) => return Err(unknown()),
        Err(e) => return Err(e.into()),
    };
    let now = Timestamp::now();
    let this_year = now.to_zoned(owner.tz.clone()).year();
    // The ETag is computed from what the text depends on, without reading the tasks, so a poll that finds
    // nothing new costs one aggregate query.
    let version = s.store.calendar_feed_version(&owner).await?;
    let etag = version.etag(&format!(
        "{FORMAT}|{}|{}|{this_year}",
        owner.time_zone, grant.name
    ));
    let etag_value = HeaderValue::from_str(&etag).map_err(|_| ApiError::internal())?;
    let cache = HeaderValue::from_static("private, max-age=300");
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag.trim_start_matches("W/"));
    if matches {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    let tasks = s.store.calendar_feed_tasks(&owner, now).await?;
    let body = ical::render(&ical::Feed {
        name: &grant.name,
        zone_name: &owner.time_zone,
        tz: &owner.tz,
        tasks: &tasks,
        this_year,
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            ),
            (header::ETAG, etag_value),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response())
}
