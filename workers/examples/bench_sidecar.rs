//! A stand-in for the Dapr sidecar's publish endpoints in the API benchmark (`tests/bench/run.sh`): accepts
//! every `POST /v1.0/publish/{pubsub}/{topic}` and `POST /v1.0-alpha1/publish/bulk/{pubsub}/{topic}` with
//! 204 and counts the events, so the API's outbox relay runs as it would in production; `GET /` answers
//! the count. Compiled, like the real sidecar, so the stand-in does
//! not take the 2 cores the server and PostgreSQL are measured on.
//!
//! Usage: `cargo run --release -p todo-worker --example bench_sidecar -- <port>`

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        Some(Ok(port)) => port,
        _ => {
            eprintln!("usage: bench_sidecar <port>");
            std::process::exit(2);
        }
    };
    let published = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route("/v1.0/publish/{pubsub}/{topic}", post(publish))
        .route(
            "/v1.0-alpha1/publish/bulk/{pubsub}/{topic}",
            post(publish_bulk),
        )
        .route("/", get(count))
        .with_state(published);
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("bench_sidecar: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("bench_sidecar: {e}");
        std::process::exit(1);
    }
}

async fn publish(State(published): State<Arc<AtomicU64>>) -> StatusCode {
    published.fetch_add(1, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

async fn publish_bulk(State(published): State<Arc<AtomicU64>>, body: Bytes) -> StatusCode {
    match serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(&body) {
        Ok(entries) => {
            published.fetch_add(entries.len() as u64, Ordering::Relaxed);
            StatusCode::NO_CONTENT
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn count(State(published): State<Arc<AtomicU64>>) -> String {
    published.load(Ordering::Relaxed).to_string()
}
