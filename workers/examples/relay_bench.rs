//! Event pipeline benchmark.
//!
//! `cargo run --release -p todo-worker --example relay_bench` (PostgreSQL from `TODO_TEST_POSTGRES_URL`,
//! default `postgres://postgres@127.0.0.1:5432/postgres`; a scratch database is created and dropped).
//!
//! 1. Commit → publish latency: tasks are written by 4 concurrent writers at a steady rate while the relay
//!    runs (woken in-process after each commit) and publishes to a local test Dapr sidecar over HTTP; latency is from
//!    the writer's commit returning to the sidecar accepting the event.
//! 2. Throughput: a backlog is written with no relay running (by one user, then by 100), then one relay
//!    drains it; events/s is publishes (one per topic per event) per second of draining. Measured with the
//!    sidecar's bulk publish API and without it (single publishes).
//! 3. Reminder firing delay in dev mode (SQLite, in-process bus, the 1 s dev timer): reminders set for
//!    moments spread over a few seconds; delay is from the reminder's time to the notifier's topic
//!    receiving `reminder.due`.

#[path = "../tests/support/mod.rs"]
mod support;

use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{FakeSidecar, eventually};
use todo_core::Store;
use todo_core::domain::reminder::ReminderInput;
use todo_core::events::{ReminderDueData, topic};
use todo_core::model::NewTask;
use todo_core::testing::TestDb;
use todo_events::bus::{InProcessBus, Outcome, handler};
use todo_events::dapr::DaprClient;
use todo_events::publish::Publisher;
use todo_events::relay::{self, RelaySettings};
use todo_worker::config::{EventConfig, NotifyConfig};
use tokio::sync::watch;

const LATENCY_TASKS: usize = 2_000;
const WRITERS: usize = 4;
const BACKLOG_TASKS: usize = 10_000;
const REMINDERS: usize = 40;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn summary(name: &str, unit: &str, mut values: Vec<f64>) {
    values.sort_by(f64::total_cmp);
    println!(
        "{name}: n={} p50={:.1}{unit} p95={:.1}{unit} p99={:.1}{unit} max={:.1}{unit}",
        values.len(),
        percentile(&values, 0.50),
        percentile(&values, 0.95),
        percentile(&values, 0.99),
        values[values.len() - 1],
    );
}

fn dapr(sidecar: &FakeSidecar) -> Publisher {
    Publisher::Dapr {
        client: DaprClient::with_base_url(sidecar.base_url.clone(), None),
        pubsub: "pubsub".into(),
        topic_prefix: String::new(),
    }
}

async fn latency(store: &Store) {
    let sidecar = FakeSidecar::start().await;
    let (stop_tx, stop_rx) = watch::channel(false);
    let relay_task = tokio::spawn(relay::run(
        store.clone(),
        dapr(&sidecar),
        RelaySettings::default(),
        stop_rx,
    ));
    let owner = store
        .create_user(
            "bench@example.com",
            "h",
            None,
            Some("UTC"),
            Timestamp::now(),
        )
        .await
        .unwrap();
    let committed: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (store, owner, committed) = (store.clone(), owner.clone(), committed.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..LATENCY_TASKS / WRITERS {
                let task = store
                    .create_task(
                        &owner,
                        NewTask {
                            title: format!("w{w} t{i}"),
                            ..Default::default()
                        },
                        Timestamp::now(),
                    )
                    .await
                    .unwrap();
                committed
                    .lock()
                    .unwrap()
                    .insert(task.id.to_string(), Instant::now());
                // A steady offered load (~4 × 200 commits/s), not a burst.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    let started = Instant::now();
    for w in writers {
        w.await.unwrap();
    }
    let write_secs = started.elapsed().as_secs_f64();
    eventually(Duration::from_secs(120), "all events published", || async {
        store.outbox_backlog().await.unwrap().pending == 0
    })
    .await;
    stop_tx.send(true).unwrap();
    relay_task.await.unwrap();
    let committed = committed.lock().unwrap().clone();
    let latencies: Vec<f64> = sidecar
        .published()
        .iter()
        .filter(|p| p.topic == topic::TASK_EVENTS)
        .map(|p| {
            let at = committed[p.body["subject"].as_str().unwrap()];
            p.received_at.saturating_duration_since(at).as_secs_f64() * 1000.0
        })
        .collect();
    println!(
        "latency run: {LATENCY_TASKS} tasks by {WRITERS} writers in {write_secs:.1}s ({:.0} commits/s offered)",
        LATENCY_TASKS as f64 / write_secs
    );
    summary("commit → publish latency (PostgreSQL)", " ms", latencies);
}

/// Drain a backlog written by `users` users: one user's events go out one at a time, different users'
/// concurrently.
/// `bulk`: whether the sidecar offers Dapr's bulk publish API (without it, the relay publishes one by one).
async fn throughput(store: &Store, users: usize, bulk: bool) {
    let sidecar = FakeSidecar::start().await;
    sidecar.set_bulk_off(!bulk);
    let mut owners = Vec::with_capacity(users);
    for u in 0..users {
        owners.push(
            store
                .create_user(
                    &format!("backlog{users}-{bulk}-{u}@example.com"),
                    "h",
                    None,
                    Some("UTC"),
                    Timestamp::now(),
                )
                .await
                .unwrap(),
        );
    }
    let owners = Arc::new(owners);
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (store, owners) = (store.clone(), owners.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..BACKLOG_TASKS / WRITERS {
                store
                    .create_task(
                        &owners[(w + i * WRITERS) % owners.len()],
                        NewTask {
                            title: format!("b{w} {i}"),
                            ..Default::default()
                        },
                        Timestamp::now(),
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let pending = store.outbox_backlog().await.unwrap().pending;
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let relay_task = tokio::spawn(relay::run(
        store.clone(),
        dapr(&sidecar),
        RelaySettings::default(),
        stop_rx,
    ));
    eventually(Duration::from_secs(300), "the backlog to drain", || async {
        store.outbox_backlog().await.unwrap().pending == 0
    })
    .await;
    let secs = started.elapsed().as_secs_f64();
    stop_tx.send(true).unwrap();
    relay_task.await.unwrap();
    println!(
        "throughput, {users} user(s), {}: drained {pending} outbox rows ({BACKLOG_TASKS} events × 2 topics) in {secs:.2}s = {:.0} publishes/s through one relay",
        if bulk {
            "bulk publish"
        } else {
            "single publishes"
        },
        pending as f64 / secs
    );
}

async fn reminder_delay() {
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    todo_worker::storage::migrate(&store).await.unwrap();
    let bus = InProcessBus::new(5, Duration::from_millis(200));
    let delays: Arc<Mutex<Vec<f64>>> = Arc::default();
    {
        let delays = delays.clone();
        bus.subscribe(
            topic::REMINDERS,
            "bench-probe",
            handler(move |event| {
                let delays = delays.clone();
                async move {
                    let data: ReminderDueData = serde_json::from_value(event.data).unwrap();
                    let delay = Timestamp::now().duration_since(data.fire_at);
                    delays.lock().unwrap().push(delay.as_secs_f64() * 1000.0);
                    Outcome::Success
                }
            }),
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let events = EventConfig {
        dapr_http_port: None,
        dapr_api_token: None,
        pubsub_name: "pubsub".into(),
        topic_prefix: String::new(),
        api_app_id: "todo-api".into(),
        reminder_binding: "reminder-cron".into(),
        max_delivery_attempts: 5,
    };
    let notify = NotifyConfig {
        smtp_url: None,
        smtp_from: "TodoPlatform <reminders@todoplatform.local>".into(),
        webhook_url: None,
        webhook_secret: None,
        webhook_allow_private: None,
        public_url: "http://localhost:8080".into(),
        retry: Default::default(),
    };
    todo_worker::embedded::start(store.clone(), bus.clone(), events, notify, stop_rx.clone())
        .await
        .unwrap();
    let relay_task = tokio::spawn(relay::run(
        store.clone(),
        Publisher::InProcess(bus),
        RelaySettings::default(),
        stop_rx,
    ));
    let owner = store
        .create_user(
            "rem@example.com",
            "h",
            None,
            Some("Europe/Berlin"),
            Timestamp::now(),
        )
        .await
        .unwrap();
    let start = Timestamp::now() + SignedDuration::from_secs(2);
    for i in 0..REMINDERS {
        // Spread over 4 s at uneven offsets so they land at every phase of the 1 s timer.
        let at = start
            + SignedDuration::from_millis(
                (i as i64 * 4_000) / REMINDERS as i64 + (i as i64 * 37) % 100,
            );
        store
            .create_task(
                &owner,
                NewTask {
                    title: format!("reminder {i}"),
                    reminders: Some(vec![ReminderInput {
                        at: Some(at.to_string()),
                        minutes_before: None,
                    }]),
                    ..Default::default()
                },
                Timestamp::now(),
            )
            .await
            .unwrap();
    }
    eventually(
        Duration::from_secs(30),
        "every reminder delivered",
        || async { delays.lock().unwrap().len() == REMINDERS },
    )
    .await;
    stop_tx.send(true).unwrap();
    relay_task.await.unwrap();
    let delays = delays.lock().unwrap().clone();
    summary(
        "reminder firing delay (dev mode, SQLite, 1 s timer)",
        " ms",
        delays,
    );
    db.cleanup().await;
}

#[tokio::main]
async fn main() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("relay_bench needs PostgreSQL (TODO_TEST_POSTGRES_URL)");
        std::process::exit(2);
    };
    println!(
        "cores: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    latency(&db.store).await;
    for bulk in [true, false] {
        throughput(&db.store, 1, bulk).await;
        throughput(&db.store, 100, bulk).await;
    }
    db.cleanup().await;
    reminder_delay().await;
}
