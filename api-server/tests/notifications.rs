//! Reminder notifications that survive outages, through the product as dev mode runs it (every worker
//! role in-process over the in-process bus, the outbox relay, the reminder timer, the notifier's retry
//! loop) with a real SMTP server (aiosmtpd) that is down and comes back, on SQLite and PostgreSQL: each
//! reminder shows its delivery state per channel in the API (and MCP), the user's deliveries are listed
//! and a failed one replayed, another user sees none of it, and a moved due date re-arms a fired reminder.
//! Backoff is made short through the real flags; the tests poll, they do not sleep for timing.

use crate::support;

use crate::common::{assert_error, call, signup};
use axum::Router;
use axum::http::{Method, StatusCode};
use clap::Parser;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::SmtpServer;
use todo_api::config::Cli;
use todo_core::{Store, store_test};
use todo_events::bus::InProcessBus;
use todo_events::publish::Publisher;
use todo_events::relay::{self, RelaySettings};
use tokio::sync::watch;

/// Dev mode's background machinery over `store`, configured by `todo-api` flags; stops when the returned
/// sender is dropped.
async fn dev_mode(store: &Store, flags: &[&str]) -> watch::Sender<bool> {
    todo_worker::storage::migrate(store).await.unwrap();
    let cfg = Cli::parse_from(std::iter::once("todo-api").chain(flags.iter().copied())).config;
    let bus = InProcessBus::new(cfg.events.max_delivery_attempts, Duration::from_millis(50));
    let (stop_tx, stop_rx) = watch::channel(false);
    todo_worker::embedded::start(
        store.clone(),
        bus.clone(),
        cfg.events.clone(),
        cfg.notify.clone(),
        stop_rx.clone(),
    )
    .await
    .unwrap();
    tokio::spawn(relay::run(
        store.clone(),
        Publisher::InProcess(bus),
        RelaySettings::default(),
        stop_rx,
    ));
    stop_tx
}

/// GET `uri` until `done` holds for the answer (at most `within`); returns that answer.
async fn until(
    app: &Router,
    token: &str,
    uri: &str,
    within: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let reply = call(app, Method::GET, uri, Some(token), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        if done(&reply.body) {
            return reply.body;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}; last answer: {}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first reminder's first delivery of a task answer.
fn email(task: &Value) -> &Value {
    &task["reminders"][0]["deliveries"][0]
}

fn in_a_second() -> String {
    (Timestamp::now() + SignedDuration::from_secs(1)).to_string()
}

store_test!(
    /// The mail server is down when a reminder fires: the task's reminder shows it fired, and its email
    /// `retrying` — attempts counting up, the connection error, the next attempt — and nothing says sent.
    /// It is among the user's retrying deliveries, in the REST API and through MCP; another user sees no
    /// delivery, cannot retry it (404) and cannot read the task. The server comes back: the email arrives
    /// once and the reminder shows it `sent` (on a task, in a listing, in the reminders list). Retrying a
    /// sent delivery is a 409.
    mail_outage_shows_retrying_then_sent, |store| {
    let Some(mut smtp) = SmtpServer::down_at_first() else { return };
    let _dev = dev_mode(&store, &["--smtp-url", &smtp.url, "--notify-retry-initial", "100ms", "--notify-retry-max-interval", "200ms"]).await;
    let app = crate::common::app(store.clone());
    let ada = signup(&app, "ada@example.com", "Europe/Berlin").await;
    let bob = signup(&app, "bob@example.com", "UTC").await;
    let created = call(&app, Method::POST, "/api/v1/tasks", Some(&ada), Some(json!({
        "title": "Renew passport", "due": "2030-01-10T09:00", "reminders": [{"at": in_a_second()}]}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let reminder = &created.body["reminders"][0];
    assert_eq!((&reminder["fired_at"], &reminder["fired_event_id"], &reminder["deliveries"]), (&Value::Null, &Value::Null, &json!([])));
    let uri = format!("/api/v1/tasks/{}", created.body["id"].as_str().unwrap());

    let task = until(&app, &ada, &uri, Duration::from_secs(20), "the email retrying", |t| {
        email(t)["status"] == "retrying" && email(t)["attempts"].as_u64() >= Some(2)
    }).await;
    let reminder = &task["reminders"][0];
    assert!(reminder["fired_at"].is_string(), "{task}");
    let delivery = email(&task).clone();
    assert_eq!(reminder["deliveries"].as_array().unwrap().len(), 1, "email only (no webhook configured)");
    assert_eq!(delivery["channel"], "email");
    assert!(delivery["last_error"].as_str().unwrap().to_lowercase().contains("refused"), "{delivery}");
    assert!(delivery["next_attempt_at"].is_string() && delivery["sent_at"].is_null(), "{delivery}");
    let id = delivery["id"].as_str().unwrap();

    let listed = call(&app, Method::GET, "/api/v1/deliveries?status=retrying,failed", Some(&ada), None).await;
    assert_eq!(listed.body.as_array().map(|l| l.iter().map(|d| d["id"].clone()).collect::<Vec<_>>()), Some(vec![json!(id)]));
    assert_eq!(listed.body[0]["event_id"], reminder["fired_event_id"]);
    assert_eq!((&listed.body[0]["task_title"], &listed.body[0]["task_id"], &listed.body[0]["reminder_id"]),
        (&json!("Renew passport"), &task["id"], &reminder["id"]));
    let mcp = call(&app, Method::POST, "/mcp", Some(&ada), Some(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "list_deliveries", "arguments": {"status": "retrying"}}}))).await;
    assert_eq!(mcp.body["result"]["structuredContent"][0]["id"], id, "{}", mcp.body);

    assert_eq!(call(&app, Method::GET, "/api/v1/deliveries", Some(&bob), None).await.body, json!([]));
    let foreign = call(&app, Method::POST, &format!("/api/v1/deliveries/{id}/retry"), Some(&bob), None).await;
    assert_error(&foreign, StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(call(&app, Method::GET, &uri, Some(&bob), None).await.status, StatusCode::NOT_FOUND);

    smtp.up().await;
    let task = until(&app, &ada, &uri, Duration::from_secs(20), "the email sent", |t| email(t)["status"] == "sent").await;
    let sent = email(&task);
    assert_eq!((&sent["id"], &sent["next_attempt_at"]), (&json!(id), &Value::Null));
    assert!(sent["sent_at"].is_string() && sent["attempts"].as_u64() > delivery["attempts"].as_u64(), "{sent}");
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "one email");
    assert!(mails[0].contains("Subject: Reminder: Renew passport"), "{}", mails[0]);

    let again = call(&app, Method::POST, &format!("/api/v1/deliveries/{id}/retry"), Some(&ada), None).await;
    assert_error(&again, StatusCode::CONFLICT, "already_sent", None);
    let page = call(&app, Method::GET, "/api/v1/tasks", Some(&ada), None).await.body;
    assert_eq!(email(&page["items"][0])["status"], "sent", "listings carry the state too");
    let reminders = call(&app, Method::GET, &format!("{uri}/reminders"), Some(&ada), None).await.body;
    assert_eq!(reminders[0]["deliveries"][0]["status"], "sent");
    let mcp = call(&app, Method::POST, "/mcp", Some(&ada), Some(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "list_tasks", "arguments": {}}}))).await;
    assert_eq!(email(&mcp.body["result"]["structuredContent"]["items"][0])["status"], "sent", "{}", mcp.body);
    assert_eq!(smtp.messages().len(), 1, "still one email");
});

store_test!(
    /// A reminder the notifier gives up on (its retry window, here half a second, passed with the mail
    /// server down) is `failed` with the reason, listed with `?status=failed`; replayed through the API
    /// once the server is back it answers `retrying`, due now, and is then sent — one email. Bad listing
    /// parameters and ids are 4xx with a code.
    failed_delivery_is_listed_and_replayed, |store| {
    let Some(mut smtp) = SmtpServer::down_at_first() else { return };
    let _dev = dev_mode(&store, &["--smtp-url", &smtp.url, "--notify-retry-initial", "100ms",
        "--notify-retry-max-interval", "100ms", "--notify-retry-for", "500ms"]).await;
    let app = crate::common::app(store.clone());
    let ada = signup(&app, "ada@example.com", "UTC").await;
    let created = call(&app, Method::POST, "/api/v1/tasks", Some(&ada), Some(json!({
        "title": "Pay rent", "reminders": [{"at": in_a_second()}]}))).await.body;
    let failed = until(&app, &ada, "/api/v1/deliveries?status=failed", Duration::from_secs(20), "the delivery to fail",
        |l| l.as_array().is_some_and(|l| l.len() == 1)).await[0].clone();
    assert!(failed["last_error"].as_str().unwrap().to_lowercase().contains("refused"), "{failed}");
    assert!(failed["next_attempt_at"].is_null() && failed["sent_at"].is_null(), "{failed}");
    assert!(failed["attempts"].as_u64() >= Some(3), "retried before giving up: {failed}");
    let task = call(&app, Method::GET, &format!("/api/v1/tasks/{}", created["id"].as_str().unwrap()), Some(&ada), None).await.body;
    let shown = email(&task);
    for field in ["id", "channel", "status", "attempts", "last_error", "next_attempt_at", "sent_at", "updated_at"] {
        assert_eq!(shown[field], failed[field], "the reminder shows the same {field}");
    }

    smtp.up().await;
    let id = failed["id"].as_str().unwrap();
    let before = Timestamp::now();
    let replayed = call(&app, Method::POST, &format!("/api/v1/deliveries/{id}/retry"), Some(&ada), None).await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.body);
    let status = replayed.body["status"].as_str().unwrap();
    assert!(status == "retrying" || status == "sent", "{}", replayed.body);
    let next: Option<Timestamp> = replayed.body["next_attempt_at"].as_str().map(|t| t.parse().unwrap());
    assert!(status == "sent" || next.is_some_and(|n| n >= before - SignedDuration::from_millis(1) && n <= Timestamp::now()), "due now: {}", replayed.body);
    let sent = until(&app, &ada, "/api/v1/deliveries?status=sent", Duration::from_secs(20), "the replayed email",
        |l| l.as_array().is_some_and(|l| l.len() == 1)).await;
    assert_eq!(sent[0]["id"], id);
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(call(&app, Method::GET, "/api/v1/deliveries?status=failed", Some(&ada), None).await.body, json!([]));

    let t = Some(ada.as_str());
    assert_error(&call(&app, Method::GET, "/api/v1/deliveries?status=lost", t, None).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", Some("status"));
    assert_error(&call(&app, Method::GET, "/api/v1/deliveries?limit=0", t, None).await, StatusCode::UNPROCESSABLE_ENTITY, "out_of_range", Some("limit"));
    assert_error(&call(&app, Method::GET, "/api/v1/deliveries?page=2", t, None).await, StatusCode::BAD_REQUEST, "unknown_parameter", Some("page"));
    assert_error(&call(&app, Method::POST, "/api/v1/deliveries/nope/retry", t, None).await, StatusCode::BAD_REQUEST, "invalid_path", Some("id"));
    let missing = format!("/api/v1/deliveries/{}/retry", uuid::Uuid::now_v7());
    assert_error(&call(&app, Method::POST, &missing, t, None).await, StatusCode::NOT_FOUND, "not_found", None);
    assert_error(&call(&app, Method::GET, "/api/v1/deliveries", None, None).await, StatusCode::UNAUTHORIZED, "unauthorized", None);
});

store_test!(
    /// A relative reminder that fired and was mailed fires again when the task's due date moves ahead of
    /// it: the update answers it re-armed (not fired, no deliveries, the new fire time), it fires as a new
    /// event and a second email goes out, which the reminder then shows sent.
    moved_due_date_sends_the_reminder_again, |store| {
    let Some(smtp) = SmtpServer::start().await else { return };
    let _dev = dev_mode(&store, &["--smtp-url", &smtp.url]).await;
    let app = crate::common::app(store.clone());
    let ada = signup(&app, "ada@example.com", "UTC").await;
    let created = call(&app, Method::POST, "/api/v1/tasks", Some(&ada), Some(json!({
        "title": "Call Grace", "due": in_a_second(), "reminders": [{"minutes_before": 0}]}))).await.body;
    let uri = format!("/api/v1/tasks/{}", created["id"].as_str().unwrap());
    let first = until(&app, &ada, &uri, Duration::from_secs(20), "the first email", |t| email(t)["status"] == "sent").await;
    assert_eq!(smtp.messages().len(), 1);
    let first_event = first["reminders"][0]["fired_event_id"].clone();

    let due = in_a_second();
    let moved = call(&app, Method::PATCH, &uri, Some(&ada), Some(json!({"due": due}))).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let reminder = &moved.body["reminders"][0];
    assert_eq!((&reminder["fired_at"], &reminder["fired_event_id"], &reminder["deliveries"]), (&Value::Null, &Value::Null, &json!([])), "re-armed");
    assert_eq!(reminder["fire_at"].as_str().unwrap().parse::<Timestamp>().unwrap(),
        Timestamp::from_millisecond(due.parse::<Timestamp>().unwrap().as_millisecond()).unwrap());

    let second = until(&app, &ada, &uri, Duration::from_secs(20), "the second email", |t| email(t)["status"] == "sent").await;
    assert_ne!(second["reminders"][0]["fired_event_id"], first_event, "a new firing");
    assert_ne!(email(&second)["id"], email(&first)["id"], "with a delivery of its own");
    assert_eq!(smtp.messages().len(), 2, "the reminder was mailed again");
    assert_eq!(call(&app, Method::GET, "/api/v1/deliveries?status=sent", Some(&ada), None).await.body.as_array().unwrap().len(), 2);
});
