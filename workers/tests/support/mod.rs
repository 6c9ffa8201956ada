//! A test Dapr sidecar: a real HTTP server speaking the parts of Dapr's HTTP API the platform uses, which
//! records what it is sent. Publishing (`POST /v1.0/publish/{pubsub}/{topic}`, and in bulk
//! `POST /v1.0-alpha1/publish/bulk/{pubsub}/{topic}`, which can be switched off like a Dapr before 1.10)
//! can be switched to fail like a sidecar whose broker is down; service invocation (`POST /v1.0/invoke/{app-id}/method/{method}`)
//! is forwarded to an in-process app router with the headers Dapr adds.
//!
//! Also a real SMTP server (aiosmtpd) that can be taken down and brought back on its port.
//!
//! Shared by the todo-worker tests, its relay benchmark and the todo-api tests (which include it by path).
#![allow(dead_code)] // each suite uses a different part

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// The app-id the sidecar reports as the caller of invoked methods (Dapr's `dapr-caller-app-id`).
pub const CALLER_APP_ID: &str = "todo-worker";

/// One accepted event, as the sidecar saw it (a bulk request records one per entry).
#[derive(Debug, Clone)]
pub struct Published {
    pub pubsub: String,
    pub topic: String,
    /// From the `metadata.partitionKey` query parameter, or a bulk entry's `metadata.partitionKey`.
    pub partition_key: Option<String>,
    /// The request's Content-Type header, or a bulk entry's `contentType`.
    pub content_type: Option<String>,
    pub body: serde_json::Value,
    /// The bulk request it came in (numbered from 1), or `None` for a single publish.
    pub bulk_request: Option<usize>,
    /// When the sidecar accepted it (for latency measurements).
    pub received_at: Instant,
}

/// One service-invocation request, as forwarded.
#[derive(Debug, Clone)]
pub struct Invoked {
    pub app_id: String,
    pub method: String,
    pub status: u16,
}

#[derive(Default)]
struct SidecarState {
    published: Mutex<Vec<Published>>,
    invoked: Mutex<Vec<Invoked>>,
    publish_down: AtomicBool,
    bulk_off: AtomicBool,
    bulk_requests: AtomicUsize,
    /// Publishes with this partition key fail (one broker partition unavailable).
    failing_key: Mutex<Option<String>>,
    /// `(held, until)`: a publish with partition key `held` waits until one with key `until` is accepted.
    hold: Mutex<Option<(String, String)>>,
    accepted: tokio::sync::Notify,
    rejected_publishes: AtomicUsize,
    apps: Mutex<HashMap<String, Router>>,
    app_token: Mutex<Option<String>>,
}

pub struct FakeSidecar {
    pub base_url: String,
    state: Arc<SidecarState>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSidecar {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeSidecar {
    pub async fn start() -> FakeSidecar {
        let state = Arc::new(SidecarState::default());
        let app = Router::new()
            .route("/v1.0/publish/{pubsub}/{topic}", post(publish))
            .route(
                "/v1.0-alpha1/publish/bulk/{pubsub}/{topic}",
                post(publish_bulk),
            )
            .route("/v1.0/invoke/{app_id}/method/{*method}", post(invoke))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeSidecar {
            base_url: format!("http://{addr}"),
            state,
            server,
        }
    }

    /// Make the publish endpoint answer 500 (broker unreachable) or accept again.
    pub fn set_publish_down(&self, down: bool) {
        self.state.publish_down.store(down, Ordering::SeqCst);
    }

    /// Answer the bulk publish endpoint with 404, as a Dapr without that API does.
    pub fn set_bulk_off(&self, off: bool) {
        self.state.bulk_off.store(off, Ordering::SeqCst);
    }

    /// Make publishes with `partition_key` fail (or none, with `None`).
    pub fn set_failing_key(&self, partition_key: Option<&str>) {
        *self.state.failing_key.lock().unwrap() = partition_key.map(str::to_owned);
    }

    /// Hold each publish with partition key `held` until a publish with key `until` has been accepted
    /// (at most 5 s; then it fails). Only a publisher with both in flight at once gets both through.
    pub fn hold_key_until(&self, held: &str, until: &str) {
        *self.state.hold.lock().unwrap() = Some((held.to_owned(), until.to_owned()));
    }

    /// Serve `app_id`'s methods with `router` (Dapr would call the app over its port).
    pub fn register_app(&self, app_id: &str, router: Router) {
        self.state
            .apps
            .lock()
            .unwrap()
            .insert(app_id.to_owned(), router);
    }

    /// The app API token the sidecar presents to apps (Dapr's `APP_API_TOKEN`).
    pub fn set_app_token(&self, token: Option<&str>) {
        *self.state.app_token.lock().unwrap() = token.map(str::to_owned);
    }

    pub fn published(&self) -> Vec<Published> {
        self.state.published.lock().unwrap().clone()
    }

    pub fn invoked(&self) -> Vec<Invoked> {
        self.state.invoked.lock().unwrap().clone()
    }

    pub fn rejected_publishes(&self) -> usize {
        self.state.rejected_publishes.load(Ordering::SeqCst)
    }
}

async fn publish(
    State(s): State<Arc<SidecarState>>,
    Path((pubsub, topic)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = query
        .get("metadata.partitionKey")
        .cloned()
        .unwrap_or_default();
    let held_until = match s.hold.lock().unwrap().clone() {
        Some((held, until)) if held == key => Some(until),
        _ => None,
    };
    if let Some(until) = held_until {
        let released = async {
            loop {
                let accepted = s.accepted.notified();
                let seen = s
                    .published
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|p| p.partition_key.as_ref() == Some(&until));
                if seen {
                    break;
                }
                accepted.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(5), released)
            .await
            .is_err()
        {
            s.rejected_publishes.fetch_add(1, Ordering::SeqCst);
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "held publish was never released",
            )
                .into_response();
        }
    }
    if s.rejects(&key) {
        s.rejected_publishes.fetch_add(1, Ordering::SeqCst);
        // Dapr's documented error shape for a failed publish.
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({
                "errorCode": "ERR_PUBSUB_PUBLISH_MESSAGE",
                "message": "error when publish to topic: broker unreachable"
            })),
        )
            .into_response();
    }
    let Ok(body) = serde_json::from_slice(&body) else {
        return (StatusCode::BAD_REQUEST, "body is not JSON").into_response();
    };
    s.published.lock().unwrap().push(Published {
        pubsub,
        topic,
        partition_key: query.get("metadata.partitionKey").cloned(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
        bulk_request: None,
        received_at: Instant::now(),
    });
    s.accepted.notify_waiters();
    StatusCode::NO_CONTENT.into_response()
}

impl SidecarState {
    fn rejects(&self, partition_key: &str) -> bool {
        self.publish_down.load(Ordering::SeqCst)
            || self.failing_key.lock().unwrap().as_deref() == Some(partition_key)
    }
}

/// Dapr's bulk publish: a JSON array of `{entryId, event, contentType, metadata}`; 204 when every entry was
/// delivered, else 500 with the `failedEntries` (the others were delivered).
async fn publish_bulk(
    State(s): State<Arc<SidecarState>>,
    Path((pubsub, topic)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if s.bulk_off.load(Ordering::SeqCst) {
        return StatusCode::NOT_FOUND.into_response();
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
        return (
            StatusCode::BAD_REQUEST,
            "bulk body must be application/json",
        )
            .into_response();
    }
    let Ok(serde_json::Value::Array(entries)) = serde_json::from_slice(&body) else {
        return (StatusCode::BAD_REQUEST, "bulk body is not a JSON array").into_response();
    };
    let request = s.bulk_requests.fetch_add(1, Ordering::SeqCst) + 1;
    let mut failed = Vec::new();
    for entry in entries {
        let (Some(entry_id), Some(event)) = (entry["entryId"].as_str(), entry.get("event")) else {
            return (StatusCode::BAD_REQUEST, "entry without entryId or event").into_response();
        };
        let key = entry["metadata"]["partitionKey"]
            .as_str()
            .map(str::to_owned);
        if s.rejects(key.as_deref().unwrap_or_default()) {
            s.rejected_publishes.fetch_add(1, Ordering::SeqCst);
            failed.push(serde_json::json!({"entryId": entry_id, "error": "broker unreachable"}));
            continue;
        }
        s.published.lock().unwrap().push(Published {
            pubsub: pubsub.clone(),
            topic: topic.clone(),
            partition_key: key,
            content_type: entry["contentType"].as_str().map(str::to_owned),
            body: event.clone(),
            bulk_request: Some(request),
            received_at: Instant::now(),
        });
    }
    s.accepted.notify_waiters();
    if failed.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({
                "failedEntries": failed,
                "errorCode": "ERR_PUBSUB_PUBLISH_MESSAGE"
            })),
        )
            .into_response()
    }
}

async fn invoke(
    State(s): State<Arc<SidecarState>>,
    Path((app_id, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(app) = s.apps.lock().unwrap().get(&app_id).cloned() else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(
                serde_json::json!({"errorCode": "ERR_DIRECT_INVOKE", "message": "app not found"}),
            ),
        )
            .into_response();
    };
    let mut req = Request::post(format!("/{method}")).header("dapr-caller-app-id", CALLER_APP_ID);
    if let Some(ct) = headers.get("content-type") {
        req = req.header("content-type", ct);
    }
    if let Some(token) = s.app_token.lock().unwrap().clone() {
        req = req.header("dapr-api-token", token);
    }
    let resp = app
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    s.invoked.lock().unwrap().push(Invoked {
        app_id,
        method,
        status: resp.status().as_u16(),
    });
    resp
}

/// Poll `check` until it holds or `within` passes (async effects, no fixed sleeps).
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// aiosmtpd (`python3 -m aiosmtpd`) storing every message in a Maildir, on a port of its own that stays
/// the same when the server is taken down and brought back (a mail server outage). Killed on drop.
pub struct SmtpServer {
    child: Option<Child>,
    pub port: u16,
    /// `smtp://127.0.0.1:<port>`
    pub url: String,
    maildir: todo_core::testing::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.down();
    }
}

impl SmtpServer {
    /// A server not started yet (connections to its port are refused), or `None` (skip) when aiosmtpd is
    /// not installed — a failure when `CI` is set.
    pub fn down_at_first() -> Option<SmtpServer> {
        let installed = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI requires aiosmtpd: pip install aiosmtpd"
            );
            eprintln!("SKIPPED: the real-SMTP test needs aiosmtpd (pip install aiosmtpd)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Some(SmtpServer {
            child: None,
            port,
            url: format!("smtp://127.0.0.1:{port}"),
            maildir: todo_core::testing::TempDir::new("todo-maildir"),
        })
    }

    /// A running server, or `None` (skip) as [`down_at_first`](Self::down_at_first).
    pub async fn start() -> Option<SmtpServer> {
        let mut server = Self::down_at_first()?;
        server.up().await;
        Some(server)
    }

    /// Start the server (again) and wait until it accepts connections.
    pub async fn up(&mut self) {
        assert!(self.child.is_none(), "the SMTP server is already up");
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            // A path that does not exist yet: Python's Maildir creates new/cur/tmp only for a fresh one.
            .arg(self.maildir.0.join("mail"))
            .stdout(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        self.child = Some(child);
        let port = self.port;
        eventually(
            Duration::from_secs(15),
            "aiosmtpd to accept connections",
            || async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
            },
        )
        .await;
    }

    /// Stop the server; its port refuses connections until [`up`](Self::up).
    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every message received so far, raw (RFC 5322 with aiosmtpd's `X-Peer`, `X-MailFrom`, `X-RcptTo`).
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.0.join("mail").join("new")) else {
            return vec![];
        };
        entries
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect()
    }
}
