//! The router: `/api/v1` (documented in OpenAPI), operability endpoints, docs, the web UI, and the
//! middleware every request passes through.

use crate::error::{ApiError, ErrorBody};
use crate::routes::{
    accounts, activity, calendar, deliveries, health, internal, live, notifications, projects,
    reminders, tags, tasks, tokens, views,
};
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderValue, Method, Request, Response, StatusCode};
use axum::routing::get;
use std::sync::Arc;
use std::time::Duration;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, OnResponse, TraceLayer};
use tracing::Span;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_scalar::{Scalar, Servable};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "TodoPlatform API",
        description = "Tasks with priorities, tags, time-zone-correct due dates, reminders, recurrence and ranked search. \
                       Errors are `{\"error\": {\"code\", \"message\", \"field\"}}` with a stable code.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Sign up, log in, profile and time zone"),
        (name = "tasks", description = "Tasks, filters, search, completion and recurrence"),
        (name = "projects", description = "Projects (lists), the Inbox first"),
        (name = "tags", description = "Per-user tags"),
        (name = "reminders", description = "Task reminders and their notifications"),
        (name = "tokens", description = "Personal access tokens for scripts and MCP clients"),
        (name = "calendar", description = "Calendar feeds: secret ICS URLs of your dated tasks"),
        (name = "notifications", description = "Where your reminders go: email settings and personal webhooks")
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::signup))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::logout_everywhere))
        .routes(routes!(accounts::change_password))
        .routes(routes!(accounts::me, accounts::update_me))
        .routes(routes!(tasks::list_tasks, tasks::create_task))
        .routes(routes!(tasks::parse_task))
        .routes(routes!(
            tasks::get_task,
            tasks::update_task,
            tasks::delete_task
        ))
        .routes(routes!(views::today))
        .routes(routes!(views::upcoming))
        .routes(routes!(tasks::complete_task))
        .routes(routes!(tasks::reopen_task))
        .routes(routes!(tasks::skip_occurrence))
        .routes(routes!(tasks::next_occurrence))
        .routes(routes!(tasks::task_occurrences))
        .routes(routes!(tasks::preview_recurrence))
        .routes(routes!(tasks::attach_tag, tasks::detach_tag))
        .routes(routes!(activity::task_activity))
        .routes(routes!(reminders::list_reminders, reminders::add_reminder))
        .routes(routes!(reminders::delete_reminder))
        .routes(routes!(reminders::snooze_reminder))
        .routes(routes!(reminders::dismiss_reminder))
        .routes(routes!(reminders::list_alerts))
        .routes(routes!(deliveries::list_deliveries))
        .routes(routes!(deliveries::retry_delivery))
        .routes(routes!(projects::list_projects, projects::create_project))
        .routes(routes!(
            projects::get_project,
            projects::update_project,
            projects::delete_project
        ))
        .routes(routes!(tags::list_tags, tags::create_tag))
        .routes(routes!(tags::get_tag, tags::update_tag, tags::delete_tag))
        .routes(routes!(live::events))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(calendar::list_feeds, calendar::create_feed))
        .routes(routes!(calendar::revoke_feed))
        .routes(routes!(calendar::feed))
        .routes(routes!(
            notifications::get_settings,
            notifications::put_settings
        ))
        .routes(routes!(
            notifications::list_webhooks,
            notifications::create_webhook
        ))
        .routes(routes!(
            notifications::get_webhook,
            notifications::update_webhook,
            notifications::delete_webhook
        ))
        .routes(routes!(notifications::test_webhook))
        .routes(routes!(notifications::rotate_secret))
        .split_for_parts()
}

/// The OpenAPI 3.1 document, generated from the handlers and their types.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut spec = api_routes().1;
    spec.info.version = env!("CARGO_PKG_VERSION").to_owned();
    spec
}

pub fn openapi_json() -> String {
    openapi()
        .to_pretty_json()
        .expect("OpenAPI document serialises")
        + "\n"
}

pub fn build(state: AppState) -> Router {
    let (api, _) = api_routes();
    let spec = Arc::new(openapi());
    let spec_json = Arc::<str>::from(openapi_json());
    let cfg = state.config.clone();
    let origins: Vec<HeaderValue> = cfg
        .cors_origins
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .filter_map(|o| o.parse().ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
        ]);
    Router::new()
        .merge(api)
        .merge(internal::router())
        .route(
            "/mcp",
            axum::routing::post(crate::routes::mcp::handle).get(crate::routes::mcp::no_stream),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route(
            "/openapi.json",
            get(move || {
                let body = spec_json.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body.to_string(),
                    )
                }
            }),
        )
        .merge(Scalar::with_url("/docs", (*spec).clone()))
        .merge(crate::ui::router())
        .route(
            todo_contract::route::TASK_UPDATES,
            axum::routing::post(crate::routes::live::task_updates),
        )
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            )
        })
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(cfg.request_timeout_secs),
        ))
        .layer(CompressionLayer::new())
        .layer(cors)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(|res: &Response<_>, latency: Duration, span: &Span| {
                    span.record("http.response.status_code", res.status().as_u16());
                    if res.status().is_server_error() {
                        span.record("otel.status_code", "ERROR");
                    }
                    DefaultOnResponse::default().on_response(res, latency, span);
                }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Every request's span, named by the route template and never the raw path: a calendar feed's path is its
/// secret. When the process exports traces it is an OpenTelemetry server span continuing the caller's
/// `traceparent`.
fn request_span<B>(req: &Request<B>) -> Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str());
    let method = req.method();
    if !todo_events::trace::enabled() {
        return tracing::info_span!("request", method = %method, path = %route, request_id = %id);
    }
    let span = tracing::info_span!(
        "request",
        method = %method,
        path = %route,
        request_id = %id,
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    if let Some(parent) = todo_events::trace::from_headers(req.headers()) {
        todo_events::trace::set_parent(&span, &parent);
    }
    span
}
