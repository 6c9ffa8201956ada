//! Dev mode's trace: `todo-api` as a process (SQLite, every worker role on the in-process bus) exporting to
//! an OTLP/HTTP receiver. The trace through real daprd and Kafka is `tests/pipeline`'s
//! `one_trace_from_the_request_to_the_audit_entry`.

use crate::common::free_port;
use crate::otlp::{OtlpReceiver, Span};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Ends the server however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_for<T, F: Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER: &str = "00f067aa0ba902b7";

/// Starts `todo-api` exporting to `receiver` over `protocol`, and creates a task carrying a caller's
/// sampled `traceparent` (trace [`TRACE_ID`], parent [`CALLER`]). The server lives as long as what this
/// returns.
async fn traced_creation(
    receiver: &OtlpReceiver,
    protocol: &str,
) -> (Server, todo_core::testing::TempDir) {
    let dir = todo_core::testing::TempDir::new("todo-trace");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.0.join("server.log")).unwrap();
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_todo-api"))
            .env("TODO_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.0.join("t.db").display()),
            )
            .env(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://{}", receiver.endpoint),
            )
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
            .env("OTEL_SERVICE_NAME", "api-under-test")
            // Batches leave every 5 s by default.
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("RUST_LOG", "warn")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("todo-api starts"),
    );
    let http = reqwest::Client::new();
    wait_for("todo-api to be ready", || async {
        let ready = http.get(format!("{base}/readyz")).send().await;
        ready.ok().filter(|r| r.status().is_success()).map(|_| ())
    })
    .await;
    let signup: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&serde_json::json!({"email": "trace@example.com", "password": "password123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["token"].as_str().expect("token").to_owned();
    let created = http
        .post(format!("{base}/api/v1/tasks"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER}-01"))
        .header("tracestate", "vendor=opaque")
        .json(&serde_json::json!({"title": "follow me"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    (server, dir)
}

/// A caller's sampled `traceparent` on a task creation: the request span continues it, the relay's publish
/// span and the audit worker's span (which writes the activity entry) are children of the request, whose
/// context the event carried over the in-process bus.
#[tokio::test(flavor = "multi_thread")]
async fn in_process_events_continue_the_request_trace() {
    let receiver = OtlpReceiver::start().await;
    let _server = traced_creation(&receiver, "http/protobuf").await;
    let (trace_id, caller) = (TRACE_ID, CALLER);

    let is_audit = |s: &Span| {
        s.name == "process task-events"
            && s.attributes.get("consumer").map(String::as_str) == Some("audit")
    };
    let spans = wait_for("the audit worker's span in the caller's trace", || async {
        let spans = receiver.trace(trace_id);
        let publishes = spans
            .iter()
            .filter(|s| s.name.starts_with("publish "))
            .count();
        // Both topics' publishes (task-events, task-updates) and the audit worker's span.
        (spans.iter().any(is_audit) && publishes == 2).then_some(spans)
    })
    .await;
    let listing = crate::otlp::listing(&spans);
    let request = spans
        .iter()
        .find(|s| s.name == "POST /api/v1/tasks")
        .unwrap_or_else(|| panic!("no request span: {listing:#?}"));
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(request.parent_span_id, caller, "{listing:#?}");
    assert_eq!(request.service, "api-under-test");
    assert!(spans.iter().all(|s| s.protocol == "http"), "{listing:#?}");
    assert_eq!(request.attributes["http.route"], "/api/v1/tasks");
    assert_eq!(request.attributes["http.response.status_code"], "201");
    for publish in spans.iter().filter(|s| s.name.starts_with("publish ")) {
        assert_eq!(publish.kind, SpanKind::Producer as i32);
        assert_eq!(publish.parent_span_id, request.span_id, "{listing:#?}");
    }
    let audit = spans.iter().find(|s| is_audit(s)).expect("found above");
    assert_eq!(audit.kind, SpanKind::Consumer as i32);
    assert_eq!(
        audit.parent_span_id, request.span_id,
        "the consumer continues the context the event carries: {listing:#?}"
    );
    let live = spans
        .iter()
        .find(|s| s.name == "process task-updates")
        .unwrap_or_else(|| panic!("no live-updates span: {listing:#?}"));
    assert_eq!(live.parent_span_id, request.span_id, "{listing:#?}");
}

/// Over gRPC, the protocol a TodoPlatform's collector defaults to: the request's span and the relay's reach
/// an OTLP/gRPC receiver (OpenTelemetry's generated `TraceService`, over HTTP/2).
#[tokio::test(flavor = "multi_thread")]
async fn spans_reach_a_grpc_collector() {
    let receiver = OtlpReceiver::start().await;
    let _server = traced_creation(&receiver, "grpc").await;
    let spans = wait_for("the request's span over gRPC", || async {
        let spans = receiver.trace(TRACE_ID);
        spans
            .iter()
            .any(|s| s.name == "POST /api/v1/tasks")
            .then_some(spans)
    })
    .await;
    let request = spans
        .iter()
        .find(|s| s.name == "POST /api/v1/tasks")
        .expect("found above");
    assert_eq!(request.parent_span_id, CALLER);
    assert_eq!(request.service, "api-under-test");
    assert!(spans.iter().all(|s| s.protocol == "grpc"), "{spans:?}");
    assert!(
        spans.iter().any(|s| s.name.starts_with("publish ")),
        "the relay's spans too: {spans:?}"
    );
}
