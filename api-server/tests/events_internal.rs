//! The API's side of the event pipeline, on SQLite and PostgreSQL: the internal routes workers call through
//! Dapr service invocation (reached through a test sidecar that speaks Dapr's HTTP API), their guard, and
//! the public activity endpoint fed by the audit role.

use crate::support;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use clap::Parser;
use http_body_util::BodyExt;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::sync::Arc;
use support::FakeSidecar;
use todo_api::auth::TokenKeys;
use todo_api::config::Cli;
use todo_api::live::LiveHub;
use todo_api::state::AppState;
use todo_core::domain::recurrence::RuleInput;
use todo_core::domain::reminder::ReminderInput;
use todo_core::model::NewTask;
use todo_core::store::Owner;
use todo_core::{Store, store_test};
use todo_events::dapr::{DaprClient, DaprError};
use todo_worker::api_client::ApiClient;
use todo_worker::roles::audit;
use tower::ServiceExt;

fn state(store: Store) -> AppState {
    AppState {
        store,
        tokens: Arc::new(TokenKeys::new(b"test-secret", 60)),
        config: Arc::new(Cli::parse_from(["todo-api"]).config),
        metrics: todo_api::metrics::handle(),
        live: LiveHub::default(),
    }
}

/// The full app as the process builds it (no `APP_API_TOKEN`), or with `app_token` just the internal
/// routes guarded by it.
fn app(store: Store, app_token: Option<&str>) -> Router {
    match app_token {
        None => todo_api::app::build(state(store)),
        Some(token) => todo_api::routes::internal::router_with_token(Some(token.to_owned()))
            .with_state(state(store)),
    }
}

async fn request(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn user(store: &Store, email: &str) -> Owner {
    store
        .create_user(
            email,
            "hash",
            Some("Ada"),
            Some("Europe/Berlin"),
            Timestamp::now(),
        )
        .await
        .unwrap()
}

fn worker_api(sidecar: &FakeSidecar) -> ApiClient {
    ApiClient::Dapr {
        client: DaprClient::with_base_url(sidecar.base_url.clone(), None),
        app_id: "todo-api".into(),
    }
}

store_test!(
    /// Recurrence through Dapr service invocation: the worker's call goes sidecar → API
    /// (`internal/v1/next-occurrence`) and creates the next occurrence once, however often it is repeated;
    /// an unknown user is a 404, which the worker treats as permanent.
    next_occurrence_via_dapr_invocation, |store| {
    let sidecar = FakeSidecar::start().await;
    sidecar.register_app("todo-api", todo_api::app::build(state(store.clone())));
    let api = worker_api(&sidecar);
    let ada = user(&store, "ada@example.com").await;
    let now = Timestamp::now();
    let task = store.create_task(&ada, NewTask {
        title: "Water the plants".into(),
        due: Some("2030-01-07T09:00".into()),
        recurrence: Some(RuleInput { rrule: Some("FREQ=WEEKLY".into()), ..Default::default() }),
        ..Default::default()
    }, now).await.unwrap();
    store.complete_task(&ada, task.id, now).await.unwrap();

    let first = api.next_occurrence(ada.id, task.id).await.unwrap();
    assert!(first.created);
    let next = first.next.expect("a weekly series continues");
    assert_eq!(next.title, "Water the plants");
    assert_ne!(next.id, task.id);
    for _ in 0..2 {
        let again = api.next_occurrence(ada.id, task.id).await.unwrap();
        assert!(!again.created, "a repeated call creates nothing");
        assert_eq!(again.next.unwrap().id, next.id);
    }
    let invoked = sidecar.invoked();
    assert_eq!(invoked.len(), 3);
    assert!(invoked.iter().all(|i| i.app_id == "todo-api" && i.method == "internal/v1/next-occurrence" && i.status == 200), "{invoked:?}");

    let err = api.next_occurrence(uuid::Uuid::now_v7(), task.id).await.unwrap_err();
    assert!(err.is_permanent(), "unknown user: {err}");
});

store_test!(
    /// The reminder scan through Dapr service invocation (`internal/v1/fire-reminders`): due reminders fire
    /// once and land in the outbox as `reminder.due` events; a second scan fires nothing.
    fire_reminders_via_dapr_invocation, |store| {
    let sidecar = FakeSidecar::start().await;
    sidecar.register_app("todo-api", todo_api::app::build(state(store.clone())));
    let api = worker_api(&sidecar);
    let ada = user(&store, "ada@example.com").await;
    let soon = Timestamp::now() + SignedDuration::from_millis(300);
    store.create_task(&ada, NewTask {
        title: "Call the dentist".into(),
        reminders: Some(vec![ReminderInput { at: Some(soon.to_string()), minutes_before: None }]),
        ..Default::default()
    }, Timestamp::now()).await.unwrap();
    support::eventually(std::time::Duration::from_secs(10), "the reminder to come due", || async {
        Timestamp::now() > soon
    }).await;
    assert_eq!(api.fire_reminders().await.unwrap(), 1);
    assert_eq!(api.fire_reminders().await.unwrap(), 0, "a reminder fires once");
    let rows = store.claim_outbox(Timestamp::now(), 100, 1000).await.unwrap();
    let reminders: Vec<_> = rows.iter().filter(|r| r.topic == "reminders").collect();
    assert_eq!(reminders.len(), 1);
    let event: Value = serde_json::from_str(&reminders[0].payload).unwrap();
    assert_eq!(event["type"], "todo.reminder.due.v1");
    assert_eq!(event["data"]["task"]["title"], "Call the dentist");
});

store_test!(
    /// The internal routes answer only Dapr: no `dapr-caller-app-id` → 403; with an app API token configured,
    /// a missing or wrong `dapr-api-token` → 401, the right one passes; they are not in the OpenAPI document.
    internal_routes_are_guarded, |store| {
    let open = app(store.clone(), None);
    let body = || Body::from(json!({"user_id": uuid::Uuid::now_v7(), "task_id": uuid::Uuid::now_v7()}).to_string());
    let post = |uri: &str| Request::post(uri).header("content-type", "application/json");

    let (status, reply) = request(&open, post("/internal/v1/next-occurrence").body(body()).unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    assert_eq!(reply["error"]["code"], "forbidden");
    let (status, reply) = request(&open, post("/internal/v1/fire-reminders").header("dapr-caller-app-id", "todo-worker").body(Body::from("{}")).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply, json!({"fired": 0}));

    let guarded = app(store.clone(), Some("app-secret"));
    for token in [None, Some("wrong")] {
        let mut req = post("/internal/v1/fire-reminders").header("dapr-caller-app-id", "todo-worker");
        if let Some(t) = token {
            req = req.header("dapr-api-token", t);
        }
        let (status, reply) = request(&guarded, req.body(Body::from("{}")).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "token {token:?}: {reply}");
        assert_eq!(reply["error"]["code"], "unauthorized");
    }
    let (status, reply) = request(&guarded, post("/internal/v1/next-occurrence")
        .header("dapr-caller-app-id", "todo-worker").header("dapr-api-token", "app-secret").body(body()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "authorised, but the user does not exist: {reply}");

    // Through the sidecar, which presents the app token as Dapr does.
    let sidecar = FakeSidecar::start().await;
    sidecar.register_app("todo-api", guarded.clone());
    let client = DaprClient::with_base_url(sidecar.base_url.clone(), None);
    let err = client.invoke("todo-api", "internal/v1/fire-reminders", &json!({})).await.unwrap_err();
    assert!(matches!(err, DaprError::Status { status: 401, .. }), "{err}");
    sidecar.set_app_token(Some("app-secret"));
    assert_eq!(client.invoke("todo-api", "internal/v1/fire-reminders", &json!({})).await.unwrap(), json!({"fired": 0}));

    let spec = todo_api::app::openapi_json();
    assert!(!spec.contains("/internal/"), "internal routes stay out of the public API document");
    assert!(spec.contains("/api/v1/tasks/{id}/activity"));
});

store_test!(
    /// A task's activity: the owner reads the audit role's history (oldest first, one entry per event even
    /// when events are redelivered, kept after deletion); another user gets 404; an existing task without
    /// history yet is an empty list.
    task_activity_endpoint, |store| {
    todo_worker::storage::migrate(&store).await.unwrap();
    let app = app(store.clone(), None);
    let tokens = TokenKeys::new(b"test-secret", 60);
    let ada = user(&store, "ada@example.com").await;
    let bob = user(&store, "bob@example.com").await;
    let now = Timestamp::now();
    let task = store.create_task(&ada, NewTask { title: "Draft".into(), ..Default::default() }, now).await.unwrap();
    store.update_task(&ada, task.id, todo_core::model::TaskPatch { title: Some("Final".into()), ..Default::default() }, now).await.unwrap();
    store.complete_task(&ada, task.id, now).await.unwrap();
    let untouched = store.create_task(&ada, NewTask { title: "Later".into(), ..Default::default() }, now).await.unwrap();

    let rows = store.claim_outbox(now + SignedDuration::from_hours(1), 1000, 1000).await.unwrap();
    let events: Vec<todo_core::events::CloudEvent> = rows.iter()
        .filter(|r| r.topic == "task-events")
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .filter(|e: &todo_core::events::CloudEvent| e.subject == task.id.to_string())
        .collect();
    assert_eq!(events.len(), 3);
    for event in events.iter().chain(events.iter()) {
        assert_eq!(audit::handle(&store, event).await, todo_events::bus::Outcome::Success);
    }

    let get = |uri: String, who: &todo_core::store::Owner| {
        let (token, _) = tokens.issue(who, Timestamp::now()).unwrap();
        Request::get(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap()
    };
    let (status, history) = request(&app, get(format!("/api/v1/tasks/{}/activity", task.id), &ada)).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let kinds: Vec<&str> = history.as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["todo.task.created.v1", "todo.task.updated.v1", "todo.task.completed.v1"]);
    assert_eq!(history[1]["changed"], json!(["title"]));
    assert_eq!(history[1]["title"], "Final");

    let (status, reply) = request(&app, get(format!("/api/v1/tasks/{}/activity", task.id), &bob)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{reply}");
    let (status, reply) = request(&app, get(format!("/api/v1/tasks/{}/activity", untouched.id), &ada)).await;
    assert_eq!((status, reply), (StatusCode::OK, json!([])));
    let (status, _) = request(&app, get(format!("/api/v1/tasks/{}/activity", uuid::Uuid::now_v7()), &ada)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    store.delete_task(&ada, task.id, now).await.unwrap();
    let (status, history) = request(&app, get(format!("/api/v1/tasks/{}/activity", task.id), &ada)).await;
    assert_eq!(status, StatusCode::OK, "history outlives the task");
    assert_eq!(history.as_array().unwrap().len(), 3, "the delete event is not audited yet");
});

store_test!(
    /// A due reminder reaches the user's open event stream: the scan writes it to the task-updates topic
    /// too, and its delivery to the API (as Dapr delivers it) comes out of the owner's stream as a
    /// `todo.reminder.due.v1` event; snoozing it over HTTP re-arms it for later.
    reminder_reaches_the_open_stream_and_snoozes, |store| {
    let st = state(store.clone());
    let app = todo_api::app::build(st.clone());
    let ada = user(&store, "ada@example.com").await;
    let now = Timestamp::now();
    let task = store.create_task(&ada, NewTask {
        title: "Take the cake out".into(),
        reminders: Some(vec![ReminderInput { at: Some(now.to_string()), minutes_before: None }]),
        ..Default::default()
    }, now).await.unwrap();
    let (token, _) = st.tokens.issue(&ada, now).unwrap();
    let stream = app.clone().oneshot(Request::get("/api/v1/events")
        .header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut body = stream.into_body();

    assert_eq!(store.fire_due_reminders(Timestamp::now(), 10).await.unwrap().len(), 1);
    let rows = store.claim_outbox(Timestamp::now(), 100, 1000).await.unwrap();
    let update = rows.iter().find(|r| r.topic == "task-updates" && r.payload.contains("todo.reminder.due.v1"))
        .expect("the reminder on task-updates");
    let (status, _) = request(&app, Request::post(todo_contract::route::TASK_UPDATES)
        .header("content-type", "application/cloudevents+json").body(Body::from(update.payload.clone())).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let mut seen = String::new();
    while !seen.contains("event: todo.reminder.due.v1") {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame()).await
            .expect("an event within 10 s").expect("the stream stays open").unwrap();
        if let Ok(data) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&data));
        }
    }
    assert!(seen.contains("Take the cake out"), "{seen}");

    let rid = task.reminders[0].id;
    let snooze = |body: Value| Request::post(format!("/api/v1/tasks/{}/reminders/{rid}/snooze", task.id))
        .header("authorization", format!("Bearer {token}")).header("content-type", "application/json")
        .body(Body::from(body.to_string())).unwrap();
    let (status, reminder) = request(&app, snooze(json!({"minutes": 10}))).await;
    assert_eq!(status, StatusCode::OK, "{reminder}");
    let fire_at: Timestamp = reminder["fire_at"].as_str().unwrap().parse().unwrap();
    assert!(fire_at > Timestamp::now() + SignedDuration::from_mins(9), "{reminder}");
    assert_eq!(reminder["fired_at"], Value::Null);
    for (bad, field) in [(json!({}), "minutes"), (json!({"minutes": 0}), "minutes"), (json!({"until": "2020-01-01T08:00"}), "until")] {
        let (status, reply) = request(&app, snooze(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
        assert_eq!(reply["error"]["field"], field, "{reply}");
    }
});

store_test!(
    /// A fired reminder is listed in `GET /api/v1/alerts` (so a tab opened later still shows it); dismissing
    /// it over HTTP takes it out of the alerts and tells the owner's open streams
    /// (`todo.reminder.dismissed.v1` through the task-updates delivery). Another user gets 404 for it, and
    /// MCP lists and dismisses alerts too.
    alerts_are_listed_and_dismissed_everywhere, |store| {
    let st = state(store.clone());
    let app = todo_api::app::build(st.clone());
    let ada = user(&store, "ada@example.com").await;
    let bob = user(&store, "bob@example.com").await;
    let now = Timestamp::now();
    let reminders = Some(vec![ReminderInput { at: Some(now.to_string()), minutes_before: None }]);
    let tea = store.create_task(&ada, NewTask { title: "Tea is ready".into(), reminders: reminders.clone(), ..Default::default() }, now).await.unwrap();
    let bread = store.create_task(&ada, NewTask { title: "Bread is proved".into(), reminders, ..Default::default() }, now).await.unwrap();
    assert_eq!(store.fire_due_reminders(Timestamp::now(), 10).await.unwrap().len(), 2);
    store.claim_outbox(Timestamp::now(), 100, 1000).await.unwrap();
    let (token, _) = st.tokens.issue(&ada, now).unwrap();
    let (bob_token, _) = st.tokens.issue(&bob, now).unwrap();
    let call = |method: &str, path: String, token: &str| Request::builder().method(method).uri(path)
        .header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();

    let (status, alerts) = request(&app, call("GET", "/api/v1/alerts".into(), &token)).await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    let mut titles: Vec<&str> = alerts.as_array().unwrap().iter().map(|a| a["task"]["title"].as_str().unwrap()).collect();
    titles.sort();
    assert_eq!(titles, ["Bread is proved", "Tea is ready"]);
    assert!(alerts[0]["reminder_id"].as_str().is_some() && alerts[0]["fired_at"].as_str().is_some(), "{alerts}");
    let (_, none) = request(&app, call("GET", "/api/v1/alerts".into(), &bob_token)).await;
    assert_eq!(none, json!([]));

    let stream = app.clone().oneshot(call("GET", "/api/v1/events".into(), &token)).await.unwrap();
    let mut body = stream.into_body();
    let dismiss = |task: uuid::Uuid, rid: uuid::Uuid| format!("/api/v1/tasks/{task}/reminders/{rid}/dismiss");
    let (status, reply) = request(&app, call("POST", dismiss(tea.id, tea.reminders[0].id), &bob_token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{reply}");
    let (status, reply) = request(&app, call("POST", dismiss(tea.id, tea.reminders[0].id), &token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{reply}");
    let rows = store.claim_outbox(Timestamp::now(), 100, 1000).await.unwrap();
    assert_eq!(rows.len(), 1, "the dismissal, for the open tabs only");
    let (status, _) = request(&app, Request::post(todo_contract::route::TASK_UPDATES)
        .header("content-type", "application/cloudevents+json").body(Body::from(rows[0].payload.clone())).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let mut seen = String::new();
    while !seen.contains("event: todo.reminder.dismissed.v1") {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame()).await
            .expect("an event within 10 s").expect("the stream stays open").unwrap();
        if let Ok(data) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&data));
        }
    }
    assert!(seen.contains(&tea.reminders[0].id.to_string()), "{seen}");
    let (_, alerts) = request(&app, call("GET", "/api/v1/alerts".into(), &token)).await;
    assert_eq!(alerts.as_array().unwrap().len(), 1);
    assert_eq!(alerts[0]["task"]["id"], bread.id.to_string());

    let mcp = |name: &str, arguments: Value| Request::post("/mcp").header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json").header("accept", "application/json, text/event-stream")
        .body(Body::from(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}).to_string())).unwrap();
    let (_, listed) = request(&app, mcp("alerts", json!({}))).await;
    assert!(listed["result"]["content"][0]["text"].as_str().unwrap().contains("Bread is proved"), "{listed}");
    let (_, done) = request(&app, mcp("dismiss_reminder", json!({"task_id": bread.id, "reminder_id": bread.reminders[0].id}))).await;
    assert_eq!(done["result"]["isError"], json!(false), "{done}");
    let (_, alerts) = request(&app, call("GET", "/api/v1/alerts".into(), &token)).await;
    assert_eq!(alerts, json!([]));
});
