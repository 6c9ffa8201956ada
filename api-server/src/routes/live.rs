use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::live::LiveEvent;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use std::convert::Infallible;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LiveParams {
    /// The bearer token (a login session's or a personal access token), for clients that cannot set
    /// headers (browsers' EventSource).
    pub access_token: Option<String>,
}

/// Your task changes as Server-Sent Events; each event's name is the CloudEvent type and its data the
/// task after the change. A `resync` event means some were missed: refetch.
#[utoipa::path(get, path = "/api/v1/events", tag = "tasks", params(LiveParams),
    responses((status = 200, content_type = "text/event-stream", description = "Event stream"), crate::routes::CommonErrors),
    security(("bearer" = [])))]
pub async fn events(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<LiveParams>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or(params.access_token)
        .ok_or_else(|| ApiError::unauthorized("missing bearer token (header or access_token)"))?;
    let caller = crate::auth::authenticate(&s, &token).await?;
    let user = caller.admit(s.store.owner(caller.user).await)?.id;
    let revoked = credential_ends(s.clone(), token);
    let stream = BroadcastStream::new(s.live.subscribe()).filter_map(move |msg| match msg {
        Ok(LiveEvent {
            user_id,
            kind,
            data,
        }) if user_id == user => Some(Ok(Event::default().event(kind).data(&*data))),
        Ok(_) => None,
        Err(BroadcastStreamRecvError::Lagged(_)) => {
            Some(Ok(Event::default().event("resync").data("{}")))
        }
    });
    // Ends when the server shuts down, so a rolling update never waits on an open browser tab, and when
    // the credential it was opened with no longer admits the caller.
    let stream = futures_util::StreamExt::take_until(stream, s.live.closed());
    let stream = futures_util::StreamExt::take_until(stream, revoked);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Completes once `token` no longer admits its caller (a revoked or expired access token, a login session
/// expired or ended by logging out everywhere or a password change), checked every
/// `TODO_STREAM_RECHECK_SECS`: a stream is authenticated when it opens and would otherwise outlive the
/// access it was opened with. A check that fails for another reason (the database is briefly
/// unreachable) keeps the stream.
async fn credential_ends(s: AppState, token: String) {
    let mut every =
        tokio::time::interval(std::time::Duration::from_secs(s.config.stream_recheck_secs));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        let admitted = match crate::auth::authenticate(&s, &token).await {
            Ok(caller) => caller.admit(s.store.owner(caller.user).await).map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = admitted
            && e.status == axum::http::StatusCode::UNAUTHORIZED
        {
            return;
        }
    }
}

/// Dapr delivery of the task-updates topic (Kubernetes): fan the change out to the owner's open streams.
/// Answers Dapr's subscriber contract; a malformed event is dropped, not retried forever.
pub async fn task_updates(
    State(s): State<AppState>,
    body: axum::body::Bytes,
) -> axum::Json<todo_events::dapr::SubscriberReply> {
    use todo_events::dapr::SubscriberReply;
    match serde_json::from_slice::<todo_core::events::CloudEvent>(&body) {
        Ok(event) => {
            // Within the request's span, itself a child of Dapr's delivery.
            crate::live::forward(&s.live, &event, todo_events::trace::current());
            axum::Json(SubscriberReply::success())
        }
        Err(e) => {
            tracing::warn!(error = %e, "dropping malformed task-updates event");
            axum::Json(SubscriberReply::drop())
        }
    }
}
