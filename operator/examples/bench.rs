//! Operator benchmark: `render` time for examples/production.yaml, then 100 TodoPlatforms
//! reconciled through the in-memory API server (the tests' tower-test mock): API calls per
//! reconcile by phase, reconcile latency, writes of a no-op reconcile (must be 0), and RSS.
//!
//!   cargo run --release -p todo-operator --example bench
//!
//! Exits non-zero when a steady-state reconcile writes anything.

// The bench drives reconciles only; the tests' refusal hooks stay unused here.
#[allow(dead_code)]
#[path = "../tests/support/fake_apiserver.rs"]
mod fake_apiserver;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_apiserver::FakeApiServer;
use futures::StreamExt;
use futures::future::BoxFuture;
use kube::core::DeserializeGuard;
use serde_json::json;
use todo_operator::build::TopicPlan;
use todo_operator::controller::{self, Context};
use todo_operator::crd::{TodoPlatform, TopicStatus};
use todo_operator::metrics::Metrics;
use todo_operator::topics::{KafkaCluster, TopicAdmin, TopicError};

const PLATFORMS: usize = 100;
const CONCURRENCY: usize = 4;
const RENDER_RUNS: u32 = 200;

/// Topics always exist: the broker is not what this benchmark measures.
struct ReadyTopics;

impl TopicAdmin for ReadyTopics {
    fn ensure<'a>(
        &'a self,
        _: &'a KafkaCluster,
        plans: &'a [TopicPlan],
    ) -> BoxFuture<'a, Result<Vec<TopicStatus>, TopicError>> {
        let statuses = plans
            .iter()
            .map(|p| TopicStatus::ready(&p.name, p.partitions))
            .collect();
        Box::pin(async move { Ok(statuses) })
    }

    fn delete<'a>(
        &'a self,
        _: &'a KafkaCluster,
        _: &'a [String],
    ) -> BoxFuture<'a, Result<(), TopicError>> {
        Box::pin(async { Ok(()) })
    }
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn path(i: usize) -> String {
    format!("/apis/todoplatform.dev/v1alpha1/namespaces/ns-{i}/todoplatforms/todo")
}

struct Round {
    reads: usize,
    writes: usize,
    elapsed: Duration,
}

async fn reconcile_all(server: &FakeApiServer, ctx: &Arc<Context>) -> Round {
    server.take_requests();
    let started = Instant::now();
    futures::stream::iter(0..PLATFORMS)
        .map(|i| {
            let platform: TodoPlatform =
                serde_json::from_value(server.get(&path(i)).expect("stored")).expect("parses");
            controller::reconcile(Arc::new(DeserializeGuard(Ok(platform))), ctx.clone())
        })
        .buffer_unordered(CONCURRENCY)
        .for_each(|result| async move {
            result.expect("reconcile succeeds");
        })
        .await;
    let elapsed = started.elapsed();
    let requests = server.take_requests();
    let writes = requests.iter().filter(|r| r.is_write()).count();
    Round {
        reads: requests.len() - writes,
        writes,
        elapsed,
    }
}

fn print_round(name: &str, round: &Round) {
    println!(
        "| {name} | {:.1} | {:.1} | {:.2} ms |",
        round.reads as f64 / PLATFORMS as f64,
        round.writes as f64 / PLATFORMS as f64,
        round.elapsed.as_secs_f64() * 1000.0 / PLATFORMS as f64 * CONCURRENCY as f64,
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let manifest = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/production.yaml"
    ))
    .expect("production example");
    let started = Instant::now();
    let mut objects = 0;
    for _ in 0..RENDER_RUNS {
        objects = todo_operator::render::render(&manifest)
            .expect("renders")
            .matches("\n---\n")
            .count()
            + 1;
    }
    let render = started.elapsed() / RENDER_RUNS;
    println!(
        "render examples/production.yaml: {:.3} ms per run ({objects} objects, mean of {RENDER_RUNS})",
        render.as_secs_f64() * 1000.0
    );

    let rss_start = rss_kib("VmRSS:");
    let (client, server) = FakeApiServer::start();
    server.serve_dapr();
    for i in 0..PLATFORMS {
        server.insert(
            &path(i),
            json!({
                "apiVersion": "todoplatform.dev/v1alpha1",
                "kind": "TodoPlatform",
                "metadata": { "name": "todo", "namespace": format!("ns-{i}"), "uid": format!("uid-platform-{i}") },
                "spec": { "database": { "managed": {} }, "eventing": { "managed": {} } },
            }),
        );
    }
    let metrics = Arc::new(Metrics::default());
    let ctx = Arc::new(Context::new(client, Arc::new(ReadyTopics), metrics, None));

    println!("\n{PLATFORMS} TodoPlatforms, concurrency {CONCURRENCY}, in-memory API server\n");
    println!("| phase | reads / reconcile | writes / reconcile | latency / reconcile |");
    println!("|---|---|---|---|");
    let create = reconcile_all(&server, &ctx).await;
    print_round("create (new platforms)", &create);
    for job in server.paths().into_iter().filter(|p| p.contains("/jobs/")) {
        server.set_status(&job, json!({ "succeeded": 1 }));
    }
    let rollout = reconcile_all(&server, &ctx).await;
    print_round("rollout (migrations done)", &rollout);
    let mut steady = Vec::new();
    for _ in 0..5 {
        steady.push(reconcile_all(&server, &ctx).await);
    }
    let noop = Round {
        reads: steady.iter().map(|r| r.reads).sum::<usize>() / steady.len(),
        writes: steady.iter().map(|r| r.writes).sum(),
        elapsed: steady.iter().map(|r| r.elapsed).sum::<Duration>()
            / u32::try_from(steady.len()).unwrap_or(1),
    };
    print_round("no-op (unchanged, 5 rounds)", &noop);
    for i in 0..PLATFORMS {
        server.remove(&format!("/api/v1/namespaces/ns-{i}/configmaps/todo-config"));
    }
    let repair = reconcile_all(&server, &ctx).await;
    print_round("repair (a deleted ConfigMap each)", &repair);
    server.take_requests();
    let platform: TodoPlatform =
        serde_json::from_value(server.get(&path(0)).expect("stored")).expect("parses");
    controller::reconcile(Arc::new(DeserializeGuard(Ok(platform))), ctx.clone())
        .await
        .expect("reconcile succeeds");
    let mut kinds: Vec<String> = server
        .take_requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path.replace("/namespaces/ns-0", "")))
        .collect();
    kinds.sort();
    println!(
        "\nrequests of one no-op reconcile (label-selected LISTs):\n  {}",
        kinds.join("\n  ")
    );
    let peak = rss_kib("VmHWM:");
    // The fake API server lives in this process; measure what a second copy of its store costs
    // to estimate the controller's own share.
    let before_copy = rss_kib("VmRSS:");
    let (_client, copy) = FakeApiServer::start();
    for path in server.paths() {
        copy.insert(&path, server.get(&path).expect("listed path exists"));
    }
    let store_cost = rss_kib("VmRSS:").saturating_sub(before_copy);
    println!(
        "\nRSS: {rss_start} KiB at start, peak {peak} KiB with {} stored objects; one copy of the fake API \
         server's store costs {store_cost} KiB, so the controller's share is about {} KiB",
        server.paths().len(),
        peak.saturating_sub(rss_start + store_cost),
    );
    if noop.writes > 0 {
        eprintln!("FAIL: a no-op reconcile wrote {} times", noop.writes);
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
