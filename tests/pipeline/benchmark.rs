//! Numbers for BENCHMARKS.md, through real daprd and Kafka (ignored by default; see the README):
//!
//! ```text
//! cargo test --release -p todo-pipeline --test pipeline -- --ignored benchmark --nocapture
//! ```
//!
//! - the API's create throughput with its real sidecar beside it (32 clients, closed loop, 15 s), and beside
//!   the stand-in sidecar of `tests/bench` on the same machine and database;
//! - commit → consumer latency at steady offered rates: updates are sent on a fixed schedule (open loop), and
//!   each event's latency is from its CloudEvent `time` (set in the committing transaction) to its arrival at
//!   the tap, a Dapr subscriber with its own consumer group — the path every worker's events take;
//! - reminder delay with the cron binding (`@every 1s`): from a reminder's `fire_at` to its `reminder.due`
//!   event reaching the tap.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::support::{Platform, Running, create_database, drop_database, eventually, free_port};

/// The p-th percentile (0–100) of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summary(mut values: Vec<f64>) -> String {
    values.sort_by(f64::total_cmp);
    format!(
        "p50 {:.1} / p95 {:.1} / p99 {:.1} ms (n = {})",
        percentile(&values, 50.0),
        percentile(&values, 95.0),
        percentile(&values, 99.0),
        values.len()
    )
}

fn millis(from: jiff::Timestamp, to: jiff::Timestamp) -> f64 {
    (to - from)
        .total(jiff::Unit::Millisecond)
        .unwrap_or(f64::NAN)
}

async fn users(p: &Platform, api_url: &str, n: usize, label: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for i in 0..n {
        let email = format!(
            "bench-{label}-{i}-{}@example.com",
            uuid::Uuid::now_v7().simple()
        );
        tokens.push(p.signup_at(api_url, &email, "UTC").await);
    }
    tokens
}

/// 32 clients creating tasks through `api_url` for 15 s; returns how many were created.
async fn create_throughput(p: &Platform, api_url: &str, label: &str) -> usize {
    const CLIENTS: usize = 32;
    const FOR: Duration = Duration::from_secs(15);
    let tokens = users(p, api_url, CLIENTS, "create").await;
    let started = Instant::now();
    let mut clients = Vec::new();
    for token in tokens {
        let http = p.http.clone();
        let url = format!("{api_url}/api/v1/tasks");
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while started.elapsed() < FOR {
                let sent = Instant::now();
                let body = json!({ "title": "benchmark task", "priority": "high", "due": "2027-06-01T09:00" });
                match http.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status().as_u16() == 201 => latencies.push(sent.elapsed().as_secs_f64() * 1000.0),
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for client in clients {
        let (l, e) = client.await.expect("client");
        latencies.extend(l);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    let created = latencies.len();
    println!(
        "create {label}, {CLIENTS} clients, {:.0} s: {:.0} req/s, {}, {errors} errors",
        seconds,
        created as f64 / seconds,
        summary(latencies)
    );
    created
}

/// Create throughput with the real sidecar, its events flowing to Kafka and three consumers; then the same
/// against a second `todo-api` (same database) beside the stand-in sidecar of `tests/bench`, which accepts
/// every publish and does nothing else.
async fn create_real_and_stand_in(p: &Platform) {
    let created = create_throughput(p, &p.api_url, "beside daprd").await;
    // The next measurement starts from an empty pipeline: wait until the creates' events are through.
    let drained = Instant::now();
    let topic = p.topics["task-events"].0.clone();
    eventually(
        Duration::from_secs(300),
        "the creates' events at the tap",
        || async {
            let through = p
                .tap
                .received(&topic)
                .iter()
                .filter(|e| {
                    e["type"] == "todo.task.created.v1"
                        && e["data"]["task"]["title"] == "benchmark task"
                })
                .count();
            (through >= created).then_some(())
        },
    )
    .await;
    println!(
        "  their {created} events reached the tap {:.1} s after the last create",
        drained.elapsed().as_secs_f64()
    );

    let bin = crate::common::cargo_build(&["-p", "todo-worker", "--example", "bench_sidecar"])
        .expect("the stand-in builds");
    let sidecar_port = free_port();
    let _sidecar = Running::spawn(
        &bin.join("examples/bench_sidecar"),
        &[sidecar_port.to_string()],
        &Default::default(),
        p.dir.join("bench_sidecar.log"),
    );
    // Its own database: two relays on one outbox would publish each other's events.
    let (database, database_url) = create_database().await.expect("a database");
    let api = &p.plan.apps[0];
    let port = free_port();
    let mut env = api.process.env.clone();
    env.insert("DATABASE_URL".into(), database_url);
    env.insert("TODO_MIGRATE".into(), "true".into());
    env.insert("TODO_HTTP_ADDR".into(), format!("127.0.0.1:{port}"));
    env.insert("DAPR_HTTP_PORT".into(), sidecar_port.to_string());
    let _api = Running::spawn(
        &bin.join(&api.process.binary),
        &api.process.args,
        &env,
        p.dir.join("todo-api-stand-in.log"),
    );
    let url = format!("http://127.0.0.1:{port}");
    eventually(Duration::from_secs(60), "the second todo-api", || async {
        let r = p.http.get(format!("{url}/readyz")).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    create_throughput(p, &url, "beside the stand-in sidecar").await;
    drop(_api);
    drop_database(&database).await;
}

/// Offer `rate` updates per second for `seconds`; returns the achieved rate and the latencies.
async fn latency_at(
    p: &Platform,
    tasks: &[(String, String)],
    rate: u32,
    seconds: u32,
) -> (f64, Vec<f64>) {
    let topic = p.topics["task-events"].0.clone();
    let marker = format!("rate{rate}-");
    let in_flight = Arc::new(Semaphore::new(512));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = rate * seconds;
    let started = Instant::now();
    let mut sent = Vec::new();
    for n in 0..total {
        ticker.tick().await;
        let permit = in_flight.clone().acquire_owned().await.expect("semaphore");
        let (token, id) = tasks[n as usize % tasks.len()].clone();
        let http = p.http.clone();
        let url = format!("{}/api/v1/tasks/{id}", p.api_url);
        let title = format!("{marker}{n}");
        sent.push(tokio::spawn(async move {
            let ok = http
                .request(Method::PATCH, url)
                .bearer_auth(token)
                .json(&json!({ "title": title }))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            drop(permit);
            ok
        }));
    }
    let mut accepted = 0usize;
    for request in sent {
        accepted += usize::from(request.await.expect("request"));
    }
    let achieved = accepted as f64 / started.elapsed().as_secs_f64();
    let of_this_rate = |events: &[(jiff::Timestamp, Value)]| -> Vec<f64> {
        events
            .iter()
            .filter(|(_, e)| {
                e["data"]["task"]["title"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(&marker))
            })
            .filter_map(|(arrived, e)| {
                let time: jiff::Timestamp = e["time"].as_str()?.parse().ok()?;
                Some(millis(time, *arrived))
            })
            .collect()
    };
    let latencies = eventually(
        Duration::from_secs(120),
        "every update at the tap",
        || async {
            let latencies = of_this_rate(&p.tap.arrivals(&topic));
            (latencies.len() >= accepted).then_some(latencies)
        },
    )
    .await;
    (achieved, latencies)
}

async fn commit_to_consumer(p: &Platform) {
    let tokens = users(p, &p.api_url, 50, "latency").await;
    let mut tasks = Vec::new();
    for token in tokens {
        let (status, task) = p
            .call(
                Method::POST,
                "/api/v1/tasks",
                &token,
                Some(json!({ "title": "rate" })),
            )
            .await;
        assert_eq!(status, 201);
        tasks.push((token, task["id"].as_str().expect("an id").to_owned()));
    }
    for rate in [100, 250, 500, 750, 1_000] {
        let (achieved, latencies) = latency_at(p, &tasks, rate, 10).await;
        println!(
            "commit → consumer at {rate}/s offered ({achieved:.0}/s accepted): {}",
            summary(latencies)
        );
    }
}

async fn reminder_delay(p: &Platform) {
    const REMINDERS: usize = 20;
    let token = users(p, &p.api_url, 1, "reminders").await.remove(0);
    let base = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3);
    let mut ids = Vec::new();
    for n in 0..REMINDERS {
        let at = base + jiff::SignedDuration::from_millis(250 * n as i64);
        let body = json!({ "title": format!("reminder {n}"), "due": "2027-06-01T09:00", "reminders": [{ "at": at.to_string() }] });
        let (status, task) = p
            .call(Method::POST, "/api/v1/tasks", &token, Some(body))
            .await;
        assert_eq!(status, 201, "{task}");
        ids.push(task["id"].as_str().expect("an id").to_owned());
    }
    let topic = p.topics["reminders"].0.clone();
    let delays = eventually(
        Duration::from_secs(60),
        "every reminder at the tap",
        || async {
            let delays: Vec<f64> = p
                .tap
                .arrivals(&topic)
                .iter()
                .filter(|(_, e)| {
                    e["data"]["task"]["id"]
                        .as_str()
                        .is_some_and(|id| ids.iter().any(|i| i == id))
                })
                .filter_map(|(arrived, e)| {
                    let fire_at: jiff::Timestamp = e["data"]["fire_at"].as_str()?.parse().ok()?;
                    Some(millis(fire_at, *arrived))
                })
                .collect();
            (delays.len() >= REMINDERS).then_some(delays)
        },
    )
    .await;
    println!(
        "reminder delay, cron binding @every 1s: {}",
        summary(delays)
    );
}

/// The three measurements, printed.
pub async fn benchmark(p: &Platform) {
    create_real_and_stand_in(p).await;
    commit_to_consumer(p).await;
    reminder_delay(p).await;
}
