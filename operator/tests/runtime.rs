//! The operator process's pieces around the reconciler: Lease leader election (against the
//! in-memory API server) and the health/metrics endpoints (over real HTTP).

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use support::fake_apiserver::FakeApiServer;
use todo_operator::lease::{self, LeaseConfig};
use todo_operator::metrics::Metrics;

const LEASE: &str =
    "/apis/coordination.k8s.io/v1/namespaces/todo-system/leases/todo-operator-leader";

fn config(identity: &str) -> LeaseConfig {
    LeaseConfig {
        name: "todo-operator-leader".into(),
        namespace: "todo-system".into(),
        identity: identity.into(),
        lease_duration: Duration::from_secs(15),
        retry_period: Duration::from_secs(5),
    }
}

/// The first replica creates and holds the Lease; a second one stands by until the holder
/// releases it, then takes over and counts a transition.
#[tokio::test]
async fn only_one_replica_leads_and_release_hands_over() {
    let (client, server) = FakeApiServer::start();
    assert!(lease::try_acquire(&client, &config("pod-a")).await.unwrap());
    assert!(!lease::try_acquire(&client, &config("pod-b")).await.unwrap());
    assert!(
        lease::try_acquire(&client, &config("pod-a")).await.unwrap(),
        "the holder renews"
    );
    assert_eq!(
        server.get(LEASE).unwrap()["spec"]["holderIdentity"],
        "pod-a"
    );

    lease::release(&client, &config("pod-a")).await;
    assert!(lease::try_acquire(&client, &config("pod-b")).await.unwrap());
    let spec = server.get(LEASE).unwrap()["spec"].clone();
    assert_eq!(spec["holderIdentity"], "pod-b");
    assert_eq!(spec["leaseTransitions"], 1);
}

/// A replica that is not the holder cannot release someone else's Lease.
#[tokio::test]
async fn release_by_a_non_holder_changes_nothing() {
    let (client, server) = FakeApiServer::start();
    assert!(lease::try_acquire(&client, &config("pod-a")).await.unwrap());
    lease::release(&client, &config("pod-b")).await;
    assert_eq!(
        server.get(LEASE).unwrap()["spec"]["holderIdentity"],
        "pod-a"
    );
}

async fn get(address: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// /healthz and /readyz answer 200; /metrics exposes reconcile and write counters.
#[tokio::test]
async fn health_and_metrics_endpoints() {
    let metrics = Arc::new(Metrics::default());
    metrics.record_reconcile(Duration::from_millis(12), None);
    metrics.record_reconcile(Duration::from_millis(3), Some("kubernetes"));
    metrics.record_write("apply");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, todo_operator::http::router(metrics)).into_future());

    assert!(get(address, "/healthz").await.starts_with("HTTP/1.1 200"));
    assert!(get(address, "/readyz").await.starts_with("HTTP/1.1 200"));
    let body = get(address, "/metrics").await;
    assert!(
        body.contains("todo_operator_reconciles_total{result=\"success\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("todo_operator_reconcile_errors_total{kind=\"kubernetes\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("todo_operator_kubernetes_writes_total{verb=\"apply\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("todo_operator_reconcile_duration_seconds_count 2"),
        "{body}"
    );
}
