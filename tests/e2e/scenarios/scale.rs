//! Scale benchmark (not a test: ignored unless asked for, prints numbers): many TodoPlatforms on the real API
//! server, then an operator restart over all of them.
//!
//! `cargo test -p todo-e2e --release --test e2e -- --ignored scale` (TODO_E2E_SCALE platforms, default 100).

use std::time::{Duration, Instant};

use kube::api::{Api, ListParams};
use serde_json::Value;
use todo_operator::crd::TodoPlatform;

use super::basic_platform;
use crate::support::{OPERATOR_USER, Suite, metric_value, ready};

const NAMESPACES: usize = 10;

fn platforms_ready(suite: &Suite) -> usize {
    suite.block_on(async {
        let api: Api<TodoPlatform> = Api::all(suite.client.clone());
        api.list(&ListParams::default())
            .await
            .map(|list| {
                list.items
                    .iter()
                    .filter(|p| {
                        p.metadata
                            .namespace
                            .as_deref()
                            .is_some_and(|n| n.starts_with("e2e-scale-"))
                    })
                    .filter(|p| ready(p))
                    .count()
            })
            .unwrap_or(0)
    })
}

/// Quantile `q` of the operator's reconcile-duration histogram: the upper bound of the first bucket holding it.
fn quantile(metrics: &str, q: f64) -> f64 {
    let buckets: Vec<(f64, f64)> = metrics
        .lines()
        .filter_map(|line| {
            line.strip_prefix("todo_operator_reconcile_duration_seconds_bucket{le=\"")
        })
        .filter_map(|rest| {
            let (le, count) = rest.split_once("\"} ")?;
            Some((
                le.parse().unwrap_or(f64::INFINITY),
                count.trim().parse().ok()?,
            ))
        })
        .collect();
    let total = buckets.last().map_or(0.0, |(_, count)| *count);
    buckets
        .iter()
        .find(|(_, count)| *count >= q * total)
        .map_or(f64::NAN, |(le, _)| *le)
}

/// The operator's requests in the audit log from line `from` on: (all, writes).
fn operator_requests(suite: &Suite, from: usize) -> (usize, usize) {
    let log = std::fs::read_to_string(suite.cluster.dir.join("audit.log")).unwrap_or_default();
    let mut all = 0;
    let mut writes = 0;
    for line in log.lines().skip(from) {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if event["user"]["username"] != OPERATOR_USER {
            continue;
        }
        all += 1;
        let resource = event["objectRef"]["resource"].as_str().unwrap_or_default();
        let verb = event["verb"].as_str().unwrap_or_default();
        // Lease renewals are leader election, not reconciling.
        if resource != "leases" && matches!(verb, "create" | "update" | "patch" | "delete") {
            writes += 1;
        }
    }
    (all, writes)
}

fn audit_lines(suite: &Suite) -> usize {
    std::fs::read_to_string(suite.cluster.dir.join("audit.log"))
        .map(|log| log.lines().count())
        .unwrap_or(0)
}

fn wait_all_ready(suite: &Suite, count: usize, timeout: Duration) -> Duration {
    let started = Instant::now();
    while platforms_ready(suite) < count {
        assert!(
            started.elapsed() < timeout,
            "only {} of {count} platforms Ready after {timeout:?}",
            platforms_ready(suite)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    started.elapsed()
}

/// Prints: time until N platforms are Ready, reconcile p50/p95, the operator's RSS, and the same after a restart
/// (requests and writes per no-op reconcile).
pub fn scale(suite: &Suite) {
    let count: usize = std::env::var("TODO_E2E_SCALE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    for namespace in 0..NAMESPACES {
        let namespace = format!("e2e-scale-{namespace}");
        suite.namespace(&namespace);
        suite.secret(&namespace, "db", &[("url", "postgres://todo@db:5432/todo")]);
    }
    let started = Instant::now();
    for i in 0..count {
        let namespace = format!("e2e-scale-{}", i % NAMESPACES);
        suite.apply(&basic_platform(&namespace, &format!("p{i}")).to_string());
    }
    let applied = started.elapsed();
    let until_ready = applied + wait_all_ready(suite, count, Duration::from_secs(1800));
    let (metrics, rss) = {
        let operator = suite.operator.lock().expect("operator lock");
        (operator.metrics_text(), operator.rss_kib())
    };
    let reconciles = metric_value(&metrics, "todo_operator_reconciles_total");
    println!(
        "scale: {count} platforms ({NAMESPACES} namespaces): all Ready {:.1}s after the first apply \
         (applying took {:.1}s); {reconciles} reconciles, p50 {:.3}s, p95 {:.3}s; operator RSS {} KiB",
        until_ready.as_secs_f64(),
        applied.as_secs_f64(),
        quantile(&metrics, 0.5),
        quantile(&metrics, 0.95),
        rss
    );

    // A restart reconciles every platform once; nothing changed, so none of them may write.
    let from = audit_lines(suite);
    suite.restart_operator();
    let started = Instant::now();
    loop {
        let done = suite
            .operator
            .lock()
            .expect("operator lock")
            .metric("todo_operator_reconciles_total");
        if done >= count as f64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "restart: {done} reconciles"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let settled = started.elapsed();
    let (metrics, rss) = {
        let operator = suite.operator.lock().expect("operator lock");
        (operator.metrics_text(), operator.rss_kib())
    };
    let reconciles = metric_value(&metrics, "todo_operator_reconciles_total");
    let (requests, writes) = operator_requests(suite, from);
    println!(
        "scale: after a restart: {reconciles} reconciles in {:.1}s, p50 {:.3}s, p95 {:.3}s; {requests} requests \
         ({:.1} per reconcile), {writes} writes; operator RSS {} KiB",
        settled.as_secs_f64(),
        quantile(&metrics, 0.5),
        quantile(&metrics, 0.95),
        requests as f64 / reconciles.max(1.0),
        rss
    );
    assert_eq!(writes, 0, "no-op reconciles after a restart wrote");
}
