//! Shared by the HTTP-level suites: the real router over a test store (the API's and the workers' tables),
//! request helpers, and a macro that runs a scenario on SQLite and PostgreSQL.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use clap::Parser;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use todo_api::auth::TokenKeys;
use todo_api::config::Cli;
use todo_api::live::LiveHub;
use todo_api::state::AppState;
use todo_core::Store;
use tower::ServiceExt;

pub fn app(store: Store) -> Router {
    app_with(store, &[])
}

/// [`app`] with further command-line arguments.
pub fn app_with(store: Store, args: &[&str]) -> Router {
    // Open streams check their credential again every second (60 by default), so tests see a revoked one end.
    let defaults = [
        "todo-api",
        "--max-body-bytes",
        "65536",
        "--stream-recheck-secs",
        "1",
    ];
    let cli = Cli::parse_from(defaults.iter().chain(args));
    todo_api::app::build(AppState {
        store,
        tokens: Arc::new(TokenKeys::new(b"test-secret", 60)),
        config: Arc::new(cli.config),
        metrics: todo_api::metrics::handle(),
        live: LiveHub::default(),
    })
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

pub async fn raw(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<(&str, &str)>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some((content_type, text)) => req
            .header("content-type", content_type)
            .body(Body::from(text.to_owned())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Reply {
        status,
        body,
        headers,
    }
}

pub async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let text = body.map(|b| b.to_string());
    raw(
        app,
        method,
        uri,
        token,
        text.as_deref().map(|t| ("application/json", t)),
    )
    .await
}

pub async fn signup(app: &Router, email: &str, tz: &str) -> String {
    let r = call(
        app,
        Method::POST,
        "/api/v1/auth/signup",
        None,
        Some(json!({"email": email, "password": "password123", "time_zone": tz})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["token"].as_str().unwrap().to_owned()
}

pub fn assert_error(r: &Reply, status: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    match field {
        Some(f) => assert_eq!(r.body["error"]["field"], f, "{}", r.body),
        None => assert!(r.body["error"].get("field").is_none(), "{}", r.body),
    }
}

macro_rules! http_test {
    ($(#[$meta:meta])* $name:ident, |$app:ident| $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: axum::Router) $body
            #[tokio::test]
            async fn sqlite() {
                let db = todo_core::testing::TestDb::sqlite().await;
                todo_worker::storage::migrate(&db.store).await.unwrap();
                run($crate::common::app(db.store.clone())).await;
                db.cleanup().await;
            }
            #[tokio::test]
            async fn postgres() {
                let Some(db) = todo_core::testing::TestDb::postgres().await else { return };
                todo_worker::storage::migrate(&db.store).await.unwrap();
                run($crate::common::app(db.store.clone())).await;
                db.cleanup().await;
            }
        }
    };
    // The same, with the store behind the app too: for a scenario that sets up what the API cannot
    // (e.g. a token created in the past).
    ($(#[$meta:meta])* $name:ident, |$app:ident, $store:ident| $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: axum::Router, $store: todo_core::Store) $body
            #[tokio::test]
            async fn sqlite() {
                let db = todo_core::testing::TestDb::sqlite().await;
                todo_worker::storage::migrate(&db.store).await.unwrap();
                run($crate::common::app(db.store.clone()), db.store.clone()).await;
                db.cleanup().await;
            }
            #[tokio::test]
            async fn postgres() {
                let Some(db) = todo_core::testing::TestDb::postgres().await else { return };
                todo_worker::storage::migrate(&db.store).await.unwrap();
                run($crate::common::app(db.store.clone()), db.store.clone()).await;
                db.cleanup().await;
            }
        }
    };
}

/// Serves `app` on a loopback port, as `todo-api serve` does (the connection's address included); its URL.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    format!("http://{addr}")
}

/// A free loopback port for a server the test starts as a process.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}
