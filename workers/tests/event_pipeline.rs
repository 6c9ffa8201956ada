//! The event pipeline against real parts, on SQLite and PostgreSQL: the outbox relay publishing through a
//! test Dapr sidecar (Dapr's HTTP API as documented), the worker's Dapr subscriber endpoints, the
//! in-process bus of dev mode with its retries and dead letters, and reminder email to a real SMTP server
//! (aiosmtpd).

mod support;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::post;
use http_body_util::BodyExt;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{FakeSidecar, SmtpServer, eventually};
use todo_core::domain::recurrence::RuleInput;
use todo_core::domain::reminder::ReminderInput;
use todo_core::events::{CloudEvent, topic};
use todo_core::model::NewTask;
use todo_core::model::{Channel, DeliveryStatus};
use todo_core::store::Owner;
use todo_core::{Store, store_test};
use todo_events::bus::{InProcessBus, Outcome, handler};
use todo_events::dapr::DaprClient;
use todo_events::publish::Publisher;
use todo_events::relay::{self, RelaySettings};
use todo_worker::api_client::ApiClient;
use todo_worker::config::{EventConfig, NotifyConfig, RetryPolicy};
use todo_worker::deliveries::{self, Replay};
use todo_worker::http::{WorkerState, router};
use todo_worker::roles::Role;
use todo_worker::roles::audit;
use todo_worker::roles::notifier::Notifier;
use todo_worker::webhook::signature as webhook_signature;
use tokio::sync::watch;
use tower::ServiceExt;
use uuid::Uuid;

const SOURCE: &str = "/todoplatform/test";
const WEBHOOK_SECRET: &str = "hook-secret";

// ---------------------------------------------------------------------------------------------------------
// Helpers

async fn user(store: &Store, email: &str, tz: &str) -> Owner {
    todo_worker::storage::migrate(store).await.unwrap();
    store
        .create_user(
            email,
            "hash",
            Some("Ada Lovelace"),
            Some(tz),
            Timestamp::now(),
        )
        .await
        .unwrap()
}

fn notify_config(smtp_url: Option<String>, webhook_url: Option<String>) -> NotifyConfig {
    NotifyConfig {
        smtp_url,
        smtp_from: "TodoPlatform <reminders@todoplatform.local>".into(),
        webhook_url,
        webhook_secret: Some(WEBHOOK_SECRET.into()),
        // The tests' receivers listen on 127.0.0.1.
        webhook_allow_private: Some(true),
        public_url: "http://todo.test".into(),
        retry: RetryPolicy::default(),
    }
}

fn event_config(max_delivery_attempts: u32) -> EventConfig {
    EventConfig {
        dapr_http_port: None,
        dapr_api_token: None,
        pubsub_name: "pubsub".into(),
        topic_prefix: "todo-".into(),
        api_app_id: "todo-api".into(),
        reminder_binding: "reminder-cron".into(),
        max_delivery_attempts,
    }
}

fn relay_settings() -> RelaySettings {
    RelaySettings {
        max_backoff: Duration::from_millis(400),
        ..RelaySettings::default()
    }
}

fn dapr_publisher(sidecar: &FakeSidecar) -> Publisher {
    Publisher::Dapr {
        client: DaprClient::with_base_url(sidecar.base_url.clone(), None),
        pubsub: "pubsub".into(),
        topic_prefix: "todo-".into(),
    }
}

/// Relay until the outbox is empty (bounded).
async fn drain(store: &Store, publisher: &Publisher) {
    let settings = relay_settings();
    eventually(Duration::from_secs(30), "the outbox to drain", || async {
        relay::relay_once(store, publisher, &settings)
            .await
            .unwrap();
        store.outbox_backlog().await.unwrap().pending == 0
    })
    .await;
}

/// The worker's HTTP app with every role, calling the store directly for API operations.
fn worker_app(store: &Store, notify: &NotifyConfig) -> Router {
    router(
        WorkerState {
            roles: Arc::new(Role::ALL.into_iter().collect()),
            store: store.clone(),
            api: ApiClient::Direct(store.clone()),
            notifier: Some(Notifier::new(store.clone(), notify).unwrap()),
            metrics: metrics_exporter_prometheus::PrometheusBuilder::new()
                .build_recorder()
                .handle(),
        },
        "reminder-cron",
    )
}

/// POST as the Dapr sidecar delivers: the CloudEvent with `application/cloudevents+json`.
async fn deliver(app: &Router, path: &str, body: &str) -> (StatusCode, Value) {
    let req = Request::post(path)
        .header("content-type", "application/cloudevents+json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn count(store: &Store, sql: &str, id: Uuid) -> i64 {
    if let Some(p) = store.postgres() {
        sqlx::query_scalar(sql).bind(id).fetch_one(p).await.unwrap()
    } else {
        sqlx::query_scalar(sql)
            .bind(id)
            .fetch_one(store.sqlite().unwrap())
            .await
            .unwrap()
    }
}

/// (status, attempts) of a notification delivery.
async fn delivery(store: &Store, event_id: Uuid, channel: &str) -> (String, i64) {
    let sql = "SELECT status, CAST(attempts AS BIGINT) FROM worker_deliveries WHERE event_id = $1 AND channel = $2";
    if let Some(p) = store.postgres() {
        sqlx::query_as(sql)
            .bind(event_id)
            .bind(channel)
            .fetch_one(p)
            .await
            .unwrap()
    } else {
        sqlx::query_as(sql)
            .bind(event_id)
            .bind(channel)
            .fetch_one(store.sqlite().unwrap())
            .await
            .unwrap()
    }
}

/// Unpublished outbox events of `base_topic`, claimed (so a relay will not also take them for a while).
async fn take_events(store: &Store, base_topic: &str) -> Vec<CloudEvent> {
    let rows = store
        .claim_outbox(Timestamp::now(), 10_000, 60_000)
        .await
        .unwrap();
    rows.iter()
        .filter(|r| r.topic == base_topic)
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect()
}

/// A task with a reminder due in a moment; waits for it to come due, fires it, and returns the
/// `reminder.due` event the store wrote.
async fn due_reminder_event(store: &Store, owner: &Owner, title: &str) -> CloudEvent {
    let at = Timestamp::now() + SignedDuration::from_millis(200);
    store
        .create_task(
            owner,
            NewTask {
                title: title.into(),
                due: Some("2026-12-24T18:30".into()),
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
    eventually(
        Duration::from_secs(5),
        "the reminder to come due",
        || async { Timestamp::now() > at },
    )
    .await;
    assert_eq!(
        store
            .fire_due_reminders(Timestamp::now(), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let events = take_events(store, topic::REMINDERS).await;
    assert_eq!(events.len(), 1);
    events.into_iter().next().unwrap()
}

/// A webhook receiver that records every request and fails the first `fail_first` (negative: all).
#[derive(Clone)]
struct Webhook {
    url: String,
    received: Arc<Mutex<Vec<(HeaderMap, String, u16)>>>,
    fail_remaining: Arc<AtomicI64>,
}

impl Webhook {
    async fn start(fail_first: i64) -> Webhook {
        let hook = Webhook {
            url: String::new(),
            received: Arc::default(),
            fail_remaining: Arc::new(AtomicI64::new(fail_first)),
        };
        let app = Router::new()
            .route(
                "/hook",
                post(
                    |State(h): State<Webhook>, headers: HeaderMap, body: Bytes| async move {
                        let remaining = h.fail_remaining.load(Ordering::SeqCst);
                        if remaining > 0 {
                            h.fail_remaining.store(remaining - 1, Ordering::SeqCst);
                        }
                        let status = if remaining == 0 {
                            StatusCode::OK
                        } else {
                            StatusCode::SERVICE_UNAVAILABLE
                        };
                        h.received.lock().unwrap().push((
                            headers,
                            String::from_utf8_lossy(&body).into_owned(),
                            status.as_u16(),
                        ));
                        status
                    },
                ),
            )
            .with_state(hook.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Webhook { url, ..hook }
    }

    fn statuses(&self) -> Vec<u16> {
        self.received.lock().unwrap().iter().map(|r| r.2).collect()
    }
}

/// A received message: unfolded headers and the decoded text body.
struct Mail {
    headers: Vec<(String, String)>,
    body: String,
}

impl Mail {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn mails(smtp: &SmtpServer) -> Vec<Mail> {
    smtp.messages().iter().map(|m| parse_mail(m)).collect()
}

fn parse_mail(raw: &str) -> Mail {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let mail = Mail {
        headers,
        body: String::new(),
    };
    let body = match mail
        .header("Content-Transfer-Encoding")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("quoted-printable") => String::from_utf8(
            quoted_printable::decode(body, quoted_printable::ParseMode::Robust).unwrap(),
        )
        .unwrap(),
        Some("base64") => {
            use base64::Engine;
            let compact: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap(),
            )
            .unwrap()
        }
        _ => body.to_owned(),
    };
    Mail {
        body: body.replace("\r\n", "\n"),
        ..mail
    }
}

// ---------------------------------------------------------------------------------------------------------
// Dapr contract

store_test!(
    /// The relay publishes each task change through Dapr's bulk publish API, one request per topic:
    /// `POST /v1.0-alpha1/publish/bulk/pubsub/<prefix><topic>` whose entries carry `metadata.partitionKey` =
    /// user id, `contentType: application/cloudevents+json`, and the outbox's CloudEvent as the event
    /// (specversion, id, type, source, subject = task id).
    relay_publishes_cloudevents_through_dapr, |store| {
    let sidecar = FakeSidecar::start().await;
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let task = store.create_task(&ada, NewTask { title: "Buy milk".into(), ..Default::default() }, Timestamp::now()).await.unwrap();
    drain(&store, &dapr_publisher(&sidecar)).await;

    let published = sidecar.published();
    let topics: HashSet<&str> = published.iter().map(|p| p.topic.as_str()).collect();
    assert_eq!(topics, HashSet::from(["todo-task-events", "todo-task-updates"]), "{published:?}");
    assert_eq!(published.len(), 2);
    assert_cloudevent_contract(&published, &ada, &task);
    assert!(published.iter().all(|p| p.bulk_request.is_some()), "{published:?}");
    assert_ne!(published[0].bulk_request, published[1].bulk_request, "one request per topic");
});

store_test!(
    /// Against a sidecar without the bulk API (it answers 404, as Dapr before 1.10 does), the relay publishes
    /// each event on its own — `POST /v1.0/publish/pubsub/<prefix><topic>?metadata.partitionKey=<user id>`
    /// with `Content-Type: application/cloudevents+json` — and keeps doing so.
    relay_publishes_one_by_one_without_bulk_api, |store| {
    let sidecar = FakeSidecar::start().await;
    sidecar.set_bulk_off(true);
    let publisher = dapr_publisher(&sidecar);
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let task = store.create_task(&ada, NewTask { title: "Buy milk".into(), ..Default::default() }, Timestamp::now()).await.unwrap();
    drain(&store, &publisher).await;
    let published = sidecar.published();
    assert_eq!(published.len(), 2, "{published:?}");
    assert_cloudevent_contract(&published, &ada, &task);

    sidecar.set_bulk_off(false);
    store.create_task(&ada, NewTask { title: "Walk".into(), ..Default::default() }, Timestamp::now()).await.unwrap();
    drain(&store, &publisher).await;
    let published = sidecar.published();
    assert_eq!(published.len(), 4);
    assert!(published.iter().all(|p| p.bulk_request.is_none()), "the publisher remembered the sidecar lacks bulk: {published:?}");
});

/// Each of `published` is one event of `task`'s creation, keyed by `owner`, as Dapr's contract wants it.
fn assert_cloudevent_contract(
    published: &[support::Published],
    owner: &Owner,
    task: &todo_core::model::Task,
) {
    for p in published {
        assert_eq!(p.pubsub, "pubsub");
        assert_eq!(p.partition_key, Some(owner.id.to_string()));
        assert_eq!(
            p.content_type.as_deref(),
            Some("application/cloudevents+json")
        );
        assert_eq!(p.body["specversion"], "1.0");
        assert_eq!(p.body["type"], "todo.task.created.v1");
        assert_eq!(p.body["source"], SOURCE);
        assert_eq!(p.body["subject"], task.id.to_string());
        assert_eq!(p.body["data"]["task"]["title"], task.title);
        assert!(Uuid::parse_str(p.body["id"].as_str().unwrap()).is_ok());
    }
    assert_eq!(
        published[0].body["id"], published[1].body["id"],
        "one event, published to each topic"
    );
}

/// Ada with two tasks and then Bob with one, each task's events waiting in the outbox.
struct TwoUsers {
    ada: Owner,
    bob: Owner,
    ada_first: todo_core::model::Task,
    ada_second: todo_core::model::Task,
    bobs: todo_core::model::Task,
}

async fn two_users_with_tasks(store: &Store) -> TwoUsers {
    let ada = user(store, "ada@example.com", "UTC").await;
    let bob = user(store, "bob@example.com", "UTC").await;
    let task = |title: &str| NewTask {
        title: title.into(),
        ..Default::default()
    };
    let ada_first = store
        .create_task(&ada, task("Ada 1"), Timestamp::now())
        .await
        .unwrap();
    let ada_second = store
        .create_task(&ada, task("Ada 2"), Timestamp::now())
        .await
        .unwrap();
    let bobs = store
        .create_task(&bob, task("Bob 1"), Timestamp::now())
        .await
        .unwrap();
    TwoUsers {
        ada,
        bob,
        ada_first,
        ada_second,
        bobs,
    }
}

store_test!(
    /// Without bulk publishing, one relay pass publishes different users' events concurrently: Ada's
    /// publishes are held by the sidecar until one of Bob's is accepted, which only a relay with both in
    /// flight gets past; every event goes out in the one pass, each user's in order.
    relay_publishes_users_concurrently, |store| {
    let sidecar = FakeSidecar::start().await;
    sidecar.set_bulk_off(true);
    let TwoUsers { ada, bob, ada_first: first, ada_second: second, .. } = two_users_with_tasks(&store).await;
    sidecar.hold_key_until(&ada.id.to_string(), &bob.id.to_string());
    let pass = relay::relay_once(&store, &dapr_publisher(&sidecar), &relay_settings()).await.unwrap();
    assert_eq!((pass.published, pass.backoff), (6, None), "rejected: {}", sidecar.rejected_publishes());
    let ada_subjects: Vec<(String, String)> = sidecar.published().iter()
        .filter(|p| p.partition_key == Some(ada.id.to_string()))
        .map(|p| (p.topic.clone(), p.body["subject"].as_str().unwrap().to_owned()))
        .collect();
    let (t1, t2) = (first.id.to_string(), second.id.to_string());
    assert_eq!(ada_subjects, [
        ("todo-task-events".to_owned(), t1.clone()), ("todo-task-updates".to_owned(), t1),
        ("todo-task-events".to_owned(), t2.clone()), ("todo-task-updates".to_owned(), t2),
    ]);
});

store_test!(
    /// In bulk, a pass goes out in rounds — each user's next event — one request per topic per round: Dapr
    /// does not order a request's entries, so no request holds two events of one user, and each user's
    /// events arrive in outbox order across requests.
    relay_bulk_rounds_keep_each_users_order, |store| {
    let sidecar = FakeSidecar::start().await;
    let TwoUsers { ada, bob, ada_first: first, ada_second: second, bobs } = two_users_with_tasks(&store).await;
    let pass = relay::relay_once(&store, &dapr_publisher(&sidecar), &relay_settings()).await.unwrap();
    assert_eq!((pass.published, pass.backoff), (6, None));
    let published = sidecar.published();
    let mut requests: HashMap<usize, Vec<(String, String)>> = HashMap::new();
    for p in &published {
        requests.entry(p.bulk_request.expect("published in bulk")).or_default()
            .push((p.topic.clone(), p.partition_key.clone().unwrap()));
    }
    assert_eq!(requests.len(), 4, "Ada's two rounds with Bob, then two of her own: {requests:?}");
    for entries in requests.values() {
        let topics: HashSet<&str> = entries.iter().map(|(t, _)| t.as_str()).collect();
        let keys: HashSet<&str> = entries.iter().map(|(_, k)| k.as_str()).collect();
        assert_eq!((topics.len(), keys.len()), (1, entries.len()), "one topic, one event per user: {entries:?}");
    }
    let in_order = |key: String| -> Vec<(String, String)> {
        let mut events: Vec<&support::Published> = published.iter().filter(|p| p.partition_key == Some(key.clone())).collect();
        events.sort_by_key(|p| p.bulk_request);
        events.iter().map(|p| (p.topic.clone(), p.body["subject"].as_str().unwrap().to_owned())).collect()
    };
    let (t1, t2, b1) = (first.id.to_string(), second.id.to_string(), bobs.id.to_string());
    assert_eq!(in_order(ada.id.to_string()), [
        ("todo-task-events".to_owned(), t1.clone()), ("todo-task-updates".to_owned(), t1),
        ("todo-task-events".to_owned(), t2.clone()), ("todo-task-updates".to_owned(), t2),
    ]);
    assert_eq!(in_order(bob.id.to_string()), [("todo-task-events".to_owned(), b1.clone()), ("todo-task-updates".to_owned(), b1)]);
});

store_test!(
    /// A user whose publishes fail holds back only that user's events: the others' are published in the same
    /// pass; the failed user's wait (none skipped ahead) and go out in order once publishing recovers.
    relay_failure_holds_back_only_that_user, |store| {
    let sidecar = FakeSidecar::start().await;
    let TwoUsers { ada, bob, ada_first: first, ada_second: second, bobs } = two_users_with_tasks(&store).await;
    sidecar.set_failing_key(Some(&ada.id.to_string()));
    let publisher = dapr_publisher(&sidecar);
    let pass = relay::relay_once(&store, &publisher, &relay_settings()).await.unwrap();
    assert_eq!(pass.published, 2);
    assert!(pass.backoff.is_some());
    let subjects = |key: &str| -> Vec<String> {
        sidecar.published().iter().filter(|p| p.partition_key.as_deref() == Some(key))
            .map(|p| p.body["subject"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(subjects(&bob.id.to_string()), [bobs.id.to_string(), bobs.id.to_string()]);
    assert!(subjects(&ada.id.to_string()).is_empty());
    assert_eq!(sidecar.rejected_publishes(), 1, "Ada's later events were not tried ahead of the failed one");
    assert_eq!(store.outbox_backlog().await.unwrap().pending, 4);

    sidecar.set_failing_key(None);
    drain(&store, &publisher).await;
    let (t1, t2) = (first.id.to_string(), second.id.to_string());
    assert_eq!(subjects(&ada.id.to_string()), [t1.clone(), t1, t2.clone(), t2]);
});

store_test!(
    /// The worker's subscriber endpoints, driven the way Dapr drives them: CloudEvents POSTed to
    /// `/events/task-events` and `/events/reminders` answer `{"status":"SUCCESS"}`; a body that is not a
    /// CloudEvent answers DROP; a failing notification answers RETRY; the cron binding (`POST /reminder-cron`)
    /// fires due reminders into the outbox, whose event the relay publishes to `todo-reminders`.
    worker_answers_dapr_subscriber_contract, |store| {
    let sidecar = FakeSidecar::start().await;
    let publisher = dapr_publisher(&sidecar);
    let hook = Webhook::start(0).await;
    let app = worker_app(&store, &notify_config(None, Some(hook.url.clone())));
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;

    for path in ["/healthz", "/readyz"] {
        let resp = app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }

    let task = store.create_task(&ada, NewTask { title: "Buy milk".into(), ..Default::default() }, Timestamp::now()).await.unwrap();
    drain(&store, &publisher).await;
    let created = sidecar.published().into_iter().find(|p| p.topic == "todo-task-events").unwrap();
    let reply = deliver(&app, "/events/task-events", &created.body.to_string()).await;
    assert_eq!(reply, (StatusCode::OK, json!({"status": "SUCCESS"})));
    let history = audit::history(&store, ada.id, task.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, "todo.task.created.v1");

    for path in ["/events/task-events", "/events/reminders"] {
        assert_eq!(deliver(&app, path, "{\"not\": \"a cloudevent\"}").await, (StatusCode::OK, json!({"status": "DROP"})));
    }

    let at = Timestamp::now() + SignedDuration::from_millis(200);
    store.create_task(&ada, NewTask {
        title: "Call the dentist".into(),
        reminders: Some(vec![ReminderInput { at: Some(at.to_string()), minutes_before: None }]),
        ..Default::default()
    }, Timestamp::now()).await.unwrap();
    eventually(Duration::from_secs(5), "the reminder to come due", || async { Timestamp::now() > at }).await;
    let resp = app.clone().oneshot(Request::post("/reminder-cron").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    drain(&store, &publisher).await;
    let due = sidecar.published().into_iter().find(|p| p.topic == "todo-reminders").expect("reminder.due published");
    assert_eq!(due.body["type"], "todo.reminder.due.v1");
    assert_eq!(due.partition_key, Some(ada.id.to_string()));

    let reply = deliver(&app, "/events/reminders", &due.body.to_string()).await;
    assert_eq!(reply, (StatusCode::OK, json!({"status": "SUCCESS"})));
    assert_eq!(hook.statuses(), [200]);
    let (headers, body, _) = hook.received.lock().unwrap()[0].clone();
    let ts: i64 = headers["x-todo-timestamp"].to_str().unwrap().parse().unwrap();
    assert_eq!(headers["x-todo-signature"].to_str().unwrap(), webhook_signature(WEBHOOK_SECRET, ts, &body));
    assert_eq!(headers["x-todo-event-id"].to_str().unwrap(), due.body["id"].as_str().unwrap());

    // A notification that cannot be delivered yet is still answered SUCCESS once it is recorded: the
    // notifier retries it itself, so Dapr neither redelivers nor dead-letters it.
    let failing = Webhook::start(-1).await;
    let failing_app = worker_app(&store, &notify_config(None, Some(failing.url.clone())));
    let other = due_reminder_event(&store, &ada, "Pay rent").await;
    let reply = deliver(&failing_app, "/events/reminders", &serde_json::to_string(&other).unwrap()).await;
    assert_eq!(reply, (StatusCode::OK, json!({"status": "SUCCESS"})));
    assert_eq!(failing.statuses(), [503]);
    assert_eq!(delivery(&store, other.id, "webhook").await, ("retrying".to_owned(), 1));
    assert_eq!(delivery(&store, other.id, "email").await, ("sent".to_owned(), 1));
});

// ---------------------------------------------------------------------------------------------------------
// Faults

store_test!(
    /// The publish target is down while 1,000 tasks are written: nothing is published, nothing is lost.
    /// When it recovers every event reaches every topic exactly once, in each user's order, and the outbox
    /// backlog is empty.
    outage_loses_nothing, |store| {
    let sidecar = FakeSidecar::start().await;
    sidecar.set_publish_down(true);
    let (stop_tx, stop_rx) = watch::channel(false);
    let relay_task = tokio::spawn(relay::run(store.clone(), dapr_publisher(&sidecar), relay_settings(), stop_rx));
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let mut task_ids = Vec::with_capacity(1000);
    for i in 0..1000 {
        let task = store.create_task(&ada, NewTask { title: format!("task {i}"), ..Default::default() }, Timestamp::now()).await.unwrap();
        task_ids.push(task.id.to_string());
    }
    eventually(Duration::from_secs(10), "the relay to try the down sidecar", || async { sidecar.rejected_publishes() > 0 }).await;
    assert!(sidecar.published().is_empty());
    assert_eq!(store.outbox_backlog().await.unwrap().pending, 2000, "1,000 events × 2 topics wait in the outbox");

    sidecar.set_publish_down(false);
    eventually(Duration::from_secs(60), "the backlog to drain", || async {
        store.outbox_backlog().await.unwrap().pending == 0
    }).await;
    stop_tx.send(true).unwrap();
    relay_task.await.unwrap();

    let published = sidecar.published();
    for t in ["todo-task-events", "todo-task-updates"] {
        let subjects: Vec<String> = published.iter().filter(|p| p.topic == t).map(|p| p.body["subject"].as_str().unwrap().to_owned()).collect();
        assert_eq!(subjects.len(), task_ids.len(), "{t}: every task once");
        let first_out_of_order = subjects.iter().zip(&task_ids).position(|(got, want)| got != want);
        assert_eq!(first_out_of_order, None, "{t}: published in the user's order");
        let ids: HashSet<&str> = published.iter().filter(|p| p.topic == t).map(|p| p.body["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 1000, "{t}: no duplicates");
    }
    assert_eq!(published.len(), 2000);
});

store_test!(
    /// The same event delivered three times has one effect: one next occurrence of a recurring task, one
    /// activity row per event, one webhook call per reminder.
    redelivery_has_one_effect, |store| {
    let hook = Webhook::start(0).await;
    let app = worker_app(&store, &notify_config(None, Some(hook.url.clone())));
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let now = Timestamp::now();
    let task = store.create_task(&ada, NewTask {
        title: "Water the plants".into(),
        due: Some("2030-01-07T09:00".into()),
        recurrence: Some(RuleInput { rrule: Some("FREQ=WEEKLY".into()), ..Default::default() }),
        ..Default::default()
    }, now).await.unwrap();
    store.complete_task(&ada, task.id, now).await.unwrap();
    let events = take_events(&store, topic::TASK_EVENTS).await;
    assert_eq!(events.len(), 2, "created + completed");
    for _ in 0..3 {
        for event in &events {
            let reply = deliver(&app, "/events/task-events", &serde_json::to_string(event).unwrap()).await;
            assert_eq!(reply, (StatusCode::OK, json!({"status": "SUCCESS"})));
        }
    }
    assert_eq!(count(&store, "SELECT COUNT(*) FROM tasks WHERE user_id = $1 AND title = 'Water the plants'", ada.id).await, 2,
        "the completed task and exactly one next occurrence");
    assert_eq!(audit::history(&store, ada.id, task.id).await.unwrap().len(), 2, "one activity row per event");

    let reminder = due_reminder_event(&store, &ada, "Call the dentist").await;
    for _ in 0..3 {
        let reply = deliver(&app, "/events/reminders", &serde_json::to_string(&reminder).unwrap()).await;
        assert_eq!(reply, (StatusCode::OK, json!({"status": "SUCCESS"})));
    }
    assert_eq!(hook.statuses(), [200], "one webhook call");
    assert_eq!(delivery(&store, reminder.id, "webhook").await, ("sent".to_owned(), 1));
});

store_test!(
    /// A channel that fails is retried by the notifier, not the bus, with backoff on its clock: the email
    /// goes out at once, the webhook fails twice — the bus hears SUCCESS once — and is attempted again
    /// only when its backoff has passed (30 s, then 30 s more), the third time successfully; the email is
    /// not sent again.
    failed_channel_is_retried_by_the_notifier_with_backoff, |store| {
    let hook = Webhook::start(2).await;
    let notifier = Notifier::new(store.clone(), &notify_config(None, Some(hook.url.clone()))).unwrap();
    let bus = InProcessBus::new(5, Duration::from_millis(10));
    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let seen = outcomes.clone();
    let n = notifier.clone();
    bus.subscribe(topic::REMINDERS, "notifier", handler(move |e| {
        let (n, seen) = (n.clone(), seen.clone());
        async move {
            let outcome = n.handle(&e).await;
            seen.lock().unwrap().push(outcome.clone());
            outcome
        }
    }));
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let reminder = due_reminder_event(&store, &ada, "Call the dentist").await;
    bus.publish(topic::REMINDERS, reminder.clone()).await;
    assert_eq!(*outcomes.lock().unwrap(), [Outcome::Success], "delivered to the notifier once");
    assert_eq!(hook.statuses(), [503]);
    let first = view(&store, &ada, reminder.id, Channel::Webhook).await;
    assert_eq!((first.status, first.attempts), (DeliveryStatus::Retrying, 1));
    assert_eq!(first.last_error.as_deref(), Some("webhook answered 503 Service Unavailable"));
    let t0 = first.updated_at;
    assert_eq!(first.next_attempt_at, Some(t0 + SignedDuration::from_secs(30)));

    assert_eq!(notifier.retry_due(t0 + SignedDuration::from_secs(29)).await.unwrap(), 0, "not before its backoff");
    assert_eq!(notifier.retry_due(t0 + SignedDuration::from_secs(30)).await.unwrap(), 1);
    let second = view(&store, &ada, reminder.id, Channel::Webhook).await;
    assert_eq!((second.status, second.attempts), (DeliveryStatus::Retrying, 2));
    assert_eq!(second.next_attempt_at, Some(t0 + SignedDuration::from_secs(60)), "waits as long as it has failed");
    assert_eq!(notifier.retry_due(t0 + SignedDuration::from_secs(60)).await.unwrap(), 1);
    assert_eq!(hook.statuses(), [503, 503, 200]);
    let sent = view(&store, &ada, reminder.id, Channel::Webhook).await;
    assert_eq!((sent.status, sent.attempts, sent.sent_at, sent.next_attempt_at), (DeliveryStatus::Sent, 3, Some(t0 + SignedDuration::from_secs(60)), None));
    assert_eq!(notifier.retry_due(t0 + SignedDuration::from_hours(48)).await.unwrap(), 0, "sent is final");
    assert_eq!(delivery(&store, reminder.id, "email").await, ("sent".to_owned(), 1), "the email is not resent");
});

/// The user's delivery of `event_id` on `channel`, as the API shows it.
async fn view(
    store: &Store,
    owner: &Owner,
    event_id: Uuid,
    channel: Channel,
) -> todo_core::model::Delivery {
    deliveries::of_events(store, owner.id, &[event_id])
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.channel == channel)
        .expect("a delivery of that channel")
}

store_test!(
    /// A poison event — one a consumer fails every time — is delivered `max_delivery_attempts` times and
    /// then lands in the dead-letter table (dev mode's dead-letter topic); a malformed reminder is dropped at
    /// once, not retried. A reminder whose webhook is down is neither: the notifier keeps it.
    poison_event_is_dead_lettered, |store| {
    let hook = Webhook::start(-1).await;
    let bus = InProcessBus::new(3, Duration::from_millis(10));
    let (_stop_tx, stop_rx) = watch::channel(false);
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    todo_worker::embedded::start(store.clone(), bus.clone(), event_config(3), notify_config(None, Some(hook.url.clone())), stop_rx).await.unwrap();
    let calls = Arc::new(AtomicI64::new(0));
    let counted = calls.clone();
    bus.subscribe(topic::TASK_EVENTS, "always-failing", handler(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Outcome::Retry("never works".into()) }
    }));
    let task = store.create_task(&ada, NewTask { title: "Poison".into(), ..Default::default() }, Timestamp::now()).await.unwrap();
    let created = take_events(&store, topic::TASK_EVENTS).await.into_iter().find(|e| e.subject == task.id.to_string()).unwrap();
    bus.publish(topic::TASK_EVENTS, created.clone()).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3, "max_delivery_attempts = 3");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM worker_dead_letters WHERE event_id = $1 AND topic = 'task-events-dlq'", created.id).await, 1);

    let reminder = due_reminder_event(&store, &ada, "Call the dentist").await;
    bus.publish(topic::REMINDERS, reminder.clone()).await;
    assert_eq!(hook.statuses(), [503], "one attempt now; the notifier retries later");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM worker_dead_letters WHERE event_id = $1", reminder.id).await, 0);
    assert_eq!(delivery(&store, reminder.id, "webhook").await, ("retrying".to_owned(), 1));

    let mut malformed = reminder.clone();
    malformed.id = Uuid::now_v7();
    malformed.data = json!({"unexpected": true});
    bus.publish(topic::REMINDERS, malformed.clone()).await;
    assert_eq!(hook.statuses().len(), 1, "a malformed event is not delivered");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM worker_dead_letters WHERE event_id = $1", malformed.id).await, 0);
});

// ---------------------------------------------------------------------------------------------------------
// Real SMTP, whole dev-mode pipeline

store_test!(
    /// Dev mode end to end with a real SMTP server: a reminder set for a Berlin user comes due, the dev timer
    /// fires it, the relay carries it over the in-process bus, and the notifier mails it. The message is
    /// addressed to the user, names the task in the subject and body, and shows the due time in the user's
    /// zone. Delivering the same event twice more sends no second email.
    reminder_email_over_real_smtp, |store| {
    let Some(smtp) = SmtpServer::start().await else { return };
    let bus = InProcessBus::new(5, Duration::from_millis(50));
    let reminder_events: Arc<Mutex<Vec<CloudEvent>>> = Arc::default();
    let seen = reminder_events.clone();
    bus.subscribe(topic::REMINDERS, "test-probe", handler(move |event| {
        seen.lock().unwrap().push(event);
        async { Outcome::Success }
    }));
    let (stop_tx, stop_rx) = watch::channel(false);
    todo_worker::embedded::start(store.clone(), bus.clone(), event_config(5), notify_config(Some(smtp.url.clone()), None), stop_rx.clone()).await.unwrap();
    let relay_task = tokio::spawn(relay::run(store.clone(), Publisher::InProcess(bus.clone()), relay_settings(), stop_rx));
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let at = Timestamp::now() + SignedDuration::from_secs(1);
    let task = store.create_task(&ada, NewTask {
        title: "Water the plants".into(),
        due: Some("2026-12-24T18:30".into()),
        reminders: Some(vec![ReminderInput { at: Some(at.to_string()), minutes_before: None }]),
        ..Default::default()
    }, Timestamp::now()).await.unwrap();

    eventually(Duration::from_secs(20), "the reminder email", || async { !smtp.messages().is_empty() }).await;
    let mails = mails(&smtp);
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.header("X-RcptTo"), Some("ada@example.com"), "envelope recipient");
    assert!(mail.header("To").is_some_and(|to| to.contains("ada@example.com")), "{:?}", mail.header("To"));
    assert_eq!(mail.header("Subject"), Some("Reminder: Water the plants"));
    assert!(mail.header("From").is_some_and(|f| f.contains("reminders@todoplatform.local")));
    assert!(mail.body.contains("Hello Ada Lovelace"), "{}", mail.body);
    assert!(mail.body.contains("  Water the plants\n"), "{}", mail.body);
    // 17:30 UTC is 18:30 in Berlin (CET) on that day.
    assert!(mail.body.contains("Due: Thursday, 24 December 2026, 18:30 CET (Europe/Berlin)"), "{}", mail.body);
    assert!(mail.body.contains(&format!("http://todo.test/#task/{}", task.id)), "{}", mail.body);

    stop_tx.send(true).unwrap();
    relay_task.await.unwrap();
    let event = reminder_events.lock().unwrap().first().cloned().expect("the reminder event on the bus");
    for _ in 0..2 {
        bus.publish(topic::REMINDERS, event.clone()).await;
    }
    assert_eq!(smtp.messages().len(), 1, "a redelivered reminder sends no second email");
    assert_eq!(delivery(&store, event.id, "email").await, ("sent".to_owned(), 1));
});

// ---------------------------------------------------------------------------------------------------------
// Mail server outages (real SMTP; the notifier's clock moved by the test)

/// Attempt `notifier`'s email of `event_id` whenever it is next due, until it is no longer retrying;
/// `on_attempt(seconds since t0)` runs before each attempt. Checks nothing is attempted a moment early.
/// Returns when each attempt was, in seconds since `t0`.
async fn retry_while_retrying<F, Fut>(
    store: &Store,
    notifier: &Notifier,
    owner: &Owner,
    event_id: Uuid,
    t0: Timestamp,
    mut on_attempt: F,
) -> Vec<i64>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut attempts = vec![0];
    loop {
        let d = view(store, owner, event_id, Channel::Email).await;
        if d.status != DeliveryStatus::Retrying {
            return attempts;
        }
        let reason = d.last_error.clone().unwrap_or_default();
        assert!(
            reason.to_lowercase().contains("refused"),
            "the reason is the connection error: {reason}"
        );
        let next = d
            .next_attempt_at
            .expect("a retrying delivery has a next attempt");
        let at = next.duration_since(t0).as_secs();
        on_attempt(at).await;
        assert_eq!(
            notifier
                .retry_due(next - SignedDuration::from_millis(1))
                .await
                .unwrap(),
            0,
            "not before {at} s"
        );
        assert_eq!(
            notifier.retry_due(next).await.unwrap(),
            1,
            "attempted at {at} s"
        );
        attempts.push(at);
        assert!(attempts.len() < 100, "no end to retrying: {attempts:?}");
    }
}

store_test!(
    /// A mail server down for ten minutes delays a reminder email; it does not lose it. aiosmtpd is down
    /// when the reminder comes: the event is recorded and answered SUCCESS (nothing for the bus to retry
    /// or dead-letter), the email `retrying` with the connection error. The notifier, on the default
    /// policy, tries again at 30 s, 1, 2, 4 and 8 min — never earlier — and at 16 min, the server back
    /// since minute 10, sends it: one email, `sent` after 7 attempts. The same event delivered again sends
    /// nothing more.
    smtp_outage_delays_the_email_not_loses_it, |store| {
    let Some(smtp) = SmtpServer::down_at_first() else { return };
    let notifier = Notifier::new(store.clone(), &notify_config(Some(smtp.url.clone()), None)).unwrap();
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let reminder = due_reminder_event(&store, &ada, "Water the plants").await;
    let t0 = now_ms();
    assert_eq!(notifier.handle_at(&reminder, t0).await, Outcome::Success);
    let first = view(&store, &ada, reminder.id, Channel::Email).await;
    assert_eq!((first.status, first.attempts, first.next_attempt_at), (DeliveryStatus::Retrying, 1, Some(t0 + SignedDuration::from_secs(30))));
    assert_eq!((first.reminder_id, first.task_title.as_str()), (reminder.data["reminder_id"].as_str().unwrap().parse().unwrap(), "Water the plants"));

    let smtp = Arc::new(tokio::sync::Mutex::new(smtp));
    let attempts = retry_while_retrying(&store, &notifier, &ada, reminder.id, t0, |at| {
        let smtp = smtp.clone();
        async move {
            let mut smtp = smtp.lock().await;
            if at >= 600 && smtp.messages().is_empty() && !smtp_is_up(smtp.port).await {
                smtp.up().await;
            }
        }
    }).await;
    assert_eq!(attempts, [0, 30, 60, 120, 240, 480, 960]);
    let sent = view(&store, &ada, reminder.id, Channel::Email).await;
    assert_eq!((sent.status, sent.attempts, sent.sent_at, sent.next_attempt_at),
        (DeliveryStatus::Sent, 7, Some(t0 + SignedDuration::from_secs(960)), None));
    let smtp = smtp.lock().await;
    let mail = mails(&smtp);
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].header("Subject"), Some("Reminder: Water the plants"));
    assert_eq!(mail[0].header("X-RcptTo"), Some("ada@example.com"));

    assert_eq!(notifier.handle_at(&reminder, t0 + SignedDuration::from_hours(1)).await, Outcome::Success);
    assert_eq!(notifier.retry_due(t0 + SignedDuration::from_hours(48)).await.unwrap(), 0);
    assert_eq!(smtp.messages().len(), 1, "sent once");
});

/// Now, to the millisecond (as deliveries store times).
fn now_ms() -> Timestamp {
    Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap()
}

async fn smtp_is_up(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

store_test!(
    /// A notification that cannot be delivered within its retry window (10 min here) is given up:
    /// `failed`, with the last reason and no next attempt, its last attempt at the window's end. It is
    /// listed among the user's failed deliveries (another user sees nothing and cannot replay it); replayed
    /// once the mail server is back, it is `retrying` and due at once, and the next pass sends it — one
    /// email. A sent delivery is not replayed.
    given_up_delivery_is_listed_and_replayed, |store| {
    let Some(mut smtp) = SmtpServer::down_at_first() else { return };
    let mut cfg = notify_config(Some(smtp.url.clone()), None);
    cfg.retry.retry_for = SignedDuration::from_mins(10);
    let notifier = Notifier::new(store.clone(), &cfg).unwrap();
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let bob = user(&store, "bob@example.com", "UTC").await;
    let reminder = due_reminder_event(&store, &ada, "Pay rent").await;
    let t0 = now_ms();
    assert_eq!(notifier.handle_at(&reminder, t0).await, Outcome::Success);
    let attempts = retry_while_retrying(&store, &notifier, &ada, reminder.id, t0, |_| async {}).await;
    assert_eq!(attempts, [0, 30, 60, 120, 240, 480, 600]);
    let failed = view(&store, &ada, reminder.id, Channel::Email).await;
    assert_eq!((failed.status, failed.attempts, failed.next_attempt_at, failed.sent_at), (DeliveryStatus::Failed, 7, None, None));
    assert!(failed.last_error.as_deref().is_some_and(|e| e.to_lowercase().contains("refused")), "{failed:?}");
    assert_eq!(notifier.retry_due(t0 + SignedDuration::from_hours(48)).await.unwrap(), 0, "given up");

    assert_eq!(deliveries::list(&store, ada.id, &[DeliveryStatus::Failed], 50).await.unwrap(), std::slice::from_ref(&failed));
    assert_eq!(deliveries::list(&store, ada.id, &[], 50).await.unwrap(), std::slice::from_ref(&failed));
    assert!(deliveries::list(&store, ada.id, &[DeliveryStatus::Retrying, DeliveryStatus::Sent], 50).await.unwrap().is_empty());
    assert!(deliveries::list(&store, bob.id, &[], 50).await.unwrap().is_empty());
    assert!(deliveries::of_events(&store, bob.id, &[reminder.id]).await.unwrap().is_empty());
    let t1 = t0 + SignedDuration::from_hours(30);
    assert_eq!(deliveries::replay(&store, bob.id, failed.id, t1).await.unwrap(), Replay::NotFound);
    assert_eq!(deliveries::replay(&store, ada.id, Uuid::now_v7(), t1).await.unwrap(), Replay::NotFound);
    assert_eq!(view(&store, &ada, reminder.id, Channel::Email).await, failed, "another user's replay changed nothing");

    smtp.up().await;
    let Replay::Queued(queued) = deliveries::replay(&store, ada.id, failed.id, t1).await.unwrap() else { panic!("not queued") };
    assert_eq!((queued.status, queued.next_attempt_at, queued.attempts), (DeliveryStatus::Retrying, Some(t1), 7));
    assert_eq!(notifier.retry_due(t1).await.unwrap(), 1);
    let sent = view(&store, &ada, reminder.id, Channel::Email).await;
    assert_eq!((sent.status, sent.attempts, sent.sent_at), (DeliveryStatus::Sent, 8, Some(t1)));
    assert_eq!(smtp.messages().len(), 1);
    assert!(matches!(deliveries::replay(&store, ada.id, failed.id, t1).await.unwrap(), Replay::AlreadySent(d) if d == sent));
    assert_eq!(notifier.retry_due(t1 + SignedDuration::from_hours(1)).await.unwrap(), 0);
    assert_eq!(smtp.messages().len(), 1, "one email");
});

store_test!(
    /// Two notifiers (replicas) attempting the same due delivery at the same moment send it once: each
    /// attempt claims the delivery first.
    replicas_do_not_double_send, |store| {
    let Some(mut smtp) = SmtpServer::down_at_first() else { return };
    let cfg = notify_config(Some(smtp.url.clone()), None);
    let (a, b) = (Notifier::new(store.clone(), &cfg).unwrap(), Notifier::new(store.clone(), &cfg).unwrap());
    let ada = user(&store, "ada@example.com", "UTC").await;
    let reminder = due_reminder_event(&store, &ada, "Stand-up").await;
    let t0 = now_ms();
    a.handle_at(&reminder, t0).await;
    smtp.up().await;
    let due = t0 + SignedDuration::from_secs(30);
    let (x, y) = tokio::join!(a.retry_due(due), b.retry_due(due));
    assert_eq!(x.unwrap() + y.unwrap(), 1, "one replica attempted it");
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(view(&store, &ada, reminder.id, Channel::Email).await.attempts, 2);
});

// ---------------------------------------------------------------------------------------------------------
// Personal notification settings

store_test!(
    /// Where a reminder goes is the user's own choice, read when it is delivered. Ada's reminder reaches
    /// both her webhooks, each signed with its own secret, and her email (aiosmtpd); Bob's webhook gets
    /// nothing of hers. With her email turned off and one webhook disabled, the next reminder sends no
    /// email and reaches only the enabled webhook. Each webhook's delivery counts and latest delivery are
    /// what was sent. A notifier that refuses private addresses (the production default) does not POST to
    /// a receiver on 127.0.0.1, and says why.
    personal_webhooks_and_email_off, |store| {
    let Some(smtp) = SmtpServer::start().await else { return };
    let notifier = Notifier::new(store.clone(), &notify_config(Some(smtp.url.clone()), None)).unwrap();
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let bob = user(&store, "bob@example.com", "Europe/Berlin").await;
    let (one, two, bobs) = (Webhook::start(0).await, Webhook::start(0).await, Webhook::start(0).await);
    let input = |url: &str| todo_core::store::WebhookInput { name: None, url: url.to_owned(), enabled: None };
    let w1 = store.create_webhook(&ada, input(&one.url), Timestamp::now()).await.unwrap();
    let w2 = store.create_webhook(&ada, input(&two.url), Timestamp::now()).await.unwrap();
    store.create_webhook(&bob, input(&bobs.url), Timestamp::now()).await.unwrap();

    let first = due_reminder_event(&store, &ada, "Water the plants").await;
    assert_eq!(notifier.handle(&first).await, Outcome::Success);
    for (hook, secret) in [(&one, &w1.secret), (&two, &w2.secret)] {
        assert_eq!(hook.statuses(), [200]);
        let (headers, body, _) = hook.received.lock().unwrap()[0].clone();
        let ts: i64 = headers["x-todo-timestamp"].to_str().unwrap().parse().unwrap();
        assert_eq!(headers["x-todo-signature"].to_str().unwrap(), webhook_signature(secret, ts, &body), "signed with its own secret");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["id"], first.id.to_string());
    }
    assert!(bobs.statuses().is_empty(), "another user's webhook gets nothing");
    let mail = mails(&smtp);
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].header("X-RcptTo"), Some("ada@example.com"));
    let listed = deliveries::of_events(&store, ada.id, &[first.id]).await.unwrap();
    let mut hooks: Vec<Option<Uuid>> = listed.iter().map(|d| d.webhook_id).collect();
    hooks.sort();
    let mut want = vec![None, Some(w1.webhook.id), Some(w2.webhook.id)];
    want.sort();
    assert_eq!(hooks, want, "one delivery per target");
    assert!(listed.iter().all(|d| d.status == DeliveryStatus::Sent));

    store.set_notification_settings(&ada, todo_core::store::NotificationSettingsInput { email_enabled: false, email_address: None }, Timestamp::now()).await.unwrap();
    store.update_webhook(&ada, w2.webhook.id, todo_core::store::WebhookPatch { enabled: Some(false), ..Default::default() }, Timestamp::now()).await.unwrap();
    let second = due_reminder_event(&store, &ada, "Call the dentist").await;
    assert_eq!(notifier.handle(&second).await, Outcome::Success);
    assert_eq!((one.statuses().len(), two.statuses().len()), (2, 1), "only the enabled webhook");
    assert_eq!(smtp.messages().len(), 1, "no email while email is off");
    let second_deliveries = deliveries::of_events(&store, ada.id, &[second.id]).await.unwrap();
    assert_eq!(second_deliveries.iter().map(|d| (d.channel, d.webhook_id)).collect::<Vec<_>>(), [(Channel::Webhook, Some(w1.webhook.id))]);

    let summary = deliveries::webhook_deliveries(&store, ada.id).await.unwrap();
    let s1 = &summary[&w1.webhook.id];
    assert_eq!((s1.sent, s1.pending, s1.failed), (2, 0, 0));
    let latest = s1.latest.as_ref().unwrap();
    assert_eq!((latest.id, latest.status, latest.last_error.as_deref()), (second_deliveries[0].id, DeliveryStatus::Sent, None));
    assert_eq!(summary[&w2.webhook.id].sent, 1);
    assert!(deliveries::webhook_deliveries(&store, bob.id).await.unwrap().is_empty());

    let refusing = Notifier::new(store.clone(), &NotifyConfig { webhook_allow_private: Some(false), ..notify_config(None, None) }).unwrap();
    let third = due_reminder_event(&store, &ada, "Pay rent").await;
    assert_eq!(refusing.handle(&third).await, Outcome::Success);
    assert_eq!(one.statuses().len(), 2, "nothing POSTed to a private address");
    let refused = view(&store, &ada, third.id, Channel::Webhook).await;
    assert_eq!(refused.status, DeliveryStatus::Retrying);
    assert!(refused.last_error.as_deref().unwrap().contains("public addresses only"), "{:?}", refused.last_error);

    // Deleted while it was being retried: given up at once, not retried for a day.
    store.delete_webhook(&ada, w1.webhook.id).await.unwrap();
    assert_eq!(notifier.retry_due(Timestamp::now() + SignedDuration::from_hours(1)).await.unwrap(), 1);
    let dropped = view(&store, &ada, third.id, Channel::Webhook).await;
    assert_eq!((dropped.status, dropped.last_error.as_deref(), dropped.next_attempt_at), (DeliveryStatus::Failed, Some("the webhook was deleted"), None));
    assert_eq!(one.statuses().len(), 2);
});
