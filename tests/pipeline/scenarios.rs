//! What a user of the platform does, and what must come out of the event pipeline.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{Platform, WEBHOOK_SECRET, eventually};

/// How long the pipeline may take for one step (typically under a second; Kafka consumer groups joining
/// after a restart take longest).
const WITHIN: Duration = Duration::from_secs(60);

fn email(test: &str) -> String {
    format!("{test}-{}@example.com", uuid::Uuid::now_v7().simple())
}

/// The kinds of a task's activity, oldest first. A deleted task the audit worker has not seen yet has no
/// activity and no task: 404, which here means "nothing yet".
async fn activity(p: &Platform, token: &str, task: &str) -> Vec<String> {
    let (status, body) = p
        .call(
            Method::GET,
            &format!("/api/v1/tasks/{task}/activity"),
            token,
            None,
        )
        .await;
    if status == 404 {
        return Vec::new();
    }
    assert_eq!(status, 200, "activity: {body}");
    body.as_array()
        .expect("a list")
        .iter()
        .map(|a| a["kind"].as_str().expect("a kind").to_owned())
        .collect()
}

/// The caller's open tasks titled `title`.
async fn open_titled(p: &Platform, token: &str, title: &str) -> Vec<Value> {
    let (status, list) = p
        .call(Method::GET, "/api/v1/tasks?status=open", token, None)
        .await;
    assert_eq!(status, 200, "list: {list}");
    list["items"]
        .as_array()
        .expect("a page of tasks")
        .iter()
        .filter(|t| t["title"] == title)
        .cloned()
        .collect()
}

/// A new user's recurring task, due `due`, repeating by `rrule`: (token, title, task).
async fn recurring_task(
    p: &Platform,
    test: &str,
    due: &str,
    rrule: &str,
) -> (String, String, Value) {
    let token = p
        .signup(&email(&test.replace(' ', "-")), "Europe/Berlin")
        .await;
    let title = format!("{test} {}", uuid::Uuid::now_v7().simple());
    let task = create(
        p,
        &token,
        json!({ "title": title, "due": due, "recurrence": { "rrule": rrule } }),
    )
    .await;
    (token, title, task)
}

/// Wait until the audit worker has recorded the task's completion: the event is on Kafka and consumed.
async fn completion_audited(p: &Platform, token: &str, id: &str) {
    eventually(WITHIN, "the completion in the activity log", || async {
        activity(p, token, id)
            .await
            .iter()
            .any(|k| k == "todo.task.completed.v1")
            .then_some(())
    })
    .await;
}

async fn complete(p: &Platform, token: &str, id: &str) {
    let (status, body) = p
        .call(
            Method::POST,
            &format!("/api/v1/tasks/{id}/complete"),
            token,
            None,
        )
        .await;
    assert_eq!(status, 200, "complete: {body}");
}

async fn create(p: &Platform, token: &str, body: Value) -> Value {
    let (status, task) = p
        .call(Method::POST, "/api/v1/tasks", token, Some(body))
        .await;
    assert_eq!(status, 201, "create: {task}");
    task
}

/// Create, update, complete, reopen and delete a task: the audit worker records each event once, in order,
/// and the events cross Kafka in the order the API committed them.
pub async fn lifecycle_reaches_the_audit_log_in_order(p: &Platform) {
    let token = p.signup(&email("lifecycle"), "Europe/Berlin").await;
    let task = create(p, &token, json!({ "title": "write the report" })).await;
    let id = task["id"].as_str().expect("an id").to_owned();
    let path = format!("/api/v1/tasks/{id}");
    assert_eq!(
        p.call(
            Method::PATCH,
            &path,
            &token,
            Some(json!({ "title": "write the final report" }))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        p.call(Method::POST, &format!("{path}/complete"), &token, None)
            .await
            .0,
        200
    );
    assert_eq!(
        p.call(Method::POST, &format!("{path}/reopen"), &token, None)
            .await
            .0,
        200
    );
    assert_eq!(p.call(Method::DELETE, &path, &token, None).await.0, 204);
    let expected = ["created", "updated", "completed", "reopened", "deleted"]
        .map(|k| format!("todo.task.{k}.v1"));
    let seen = eventually(WITHIN, "five activity entries", || async {
        let kinds = activity(p, &token, &id).await;
        (kinds.len() >= expected.len()).then_some(kinds)
    })
    .await;
    assert_eq!(seen, expected, "each event recorded once, in order");

    let topic = &p.topics["task-events"].0;
    let arrived: Vec<String> = eventually(WITHIN, "the tap to see the five events", || async {
        let of_task: Vec<String> = p
            .tap
            .received(topic)
            .iter()
            .filter(|e| e["subject"] == id.as_str())
            .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
            .collect();
        (of_task.len() >= expected.len()).then_some(of_task)
    })
    .await;
    assert_eq!(
        arrived, expected,
        "one user's events keep their order across Kafka"
    );
}

/// A task created by a caller that traces (W3C `traceparent`, sampled) leaves one trace at the OTLP
/// receiver, with every link in place: the API's request span under the caller's, the outbox relay's
/// publish span under the request, and the audit worker's span writing the activity entry, under daprd's
/// span delivering the event, itself under the request whose context the event carries through Kafka.
pub async fn one_trace_from_the_request_to_the_audit_entry(p: &Platform) {
    use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
    let token = p.signup(&email("trace"), "UTC").await;
    let trace_id = uuid::Uuid::now_v7().simple().to_string();
    let caller = uuid::Uuid::now_v7().simple().to_string()[16..].to_owned();
    let response = p
        .http
        .post(format!("{}/api/v1/tasks", p.api_url))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-{caller}-01"))
        .json(&json!({ "title": "follow me" }))
        .send()
        .await
        .expect("create");
    assert_eq!(response.status().as_u16(), 201, "create");
    let task: Value = response.json().await.expect("a task");
    let id = task["id"].as_str().expect("an id").to_owned();
    eventually(WITHIN, "the activity entry", || async {
        (!activity(p, &token, &id).await.is_empty()).then_some(())
    })
    .await;

    let api = p.app_id("api");
    let audit = p.app_id("audit");
    let is_audit = |s: &crate::otlp::Span| {
        s.name == "process task-events"
            && s.attributes.get("consumer").map(String::as_str) == Some("audit")
    };
    // Every process and sidecar exports in batches of its own, at least every 5 seconds: wait until the
    // audit span's ancestors reach the caller (or the time is up, and the assertions below say what is
    // missing).
    let deadline = std::time::Instant::now() + WITHIN;
    let spans = loop {
        let spans = p.otlp.trace(&trace_id);
        let closed = spans.iter().filter(|s| is_audit(s)).any(|audit| {
            let mut parent = audit.parent_span_id.clone();
            while let Some(up) = spans.iter().find(|s| s.span_id == parent) {
                parent = up.parent_span_id.clone();
            }
            parent == caller
        });
        if closed || std::time::Instant::now() > deadline {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let listing = crate::otlp::listing(&spans);
    let find = |what: &str, matches: &dyn Fn(&crate::otlp::Span) -> bool| {
        spans
            .iter()
            .find(|s| matches(s))
            .unwrap_or_else(|| panic!("no {what} in the trace: {listing:#?}"))
    };
    // A span's ancestors in the trace, nearest first, and the parent id the chain ends at.
    let ancestors = |span: &crate::otlp::Span| {
        let mut chain: Vec<&crate::otlp::Span> = Vec::new();
        let mut parent = span.parent_span_id.clone();
        while let Some(up) = spans.iter().find(|s| s.span_id == parent) {
            chain.push(up);
            parent = up.parent_span_id.clone();
        }
        (chain, parent)
    };

    assert!(
        spans.iter().all(|s| s.protocol == "grpc"),
        "every process and sidecar exports over gRPC, the platform's default: {listing:#?}"
    );
    let request = find("request span", &|s| {
        s.name == "POST /api/v1/tasks" && s.kind == SpanKind::Server as i32
    });
    assert_eq!(request.service, api, "{listing:#?}");
    assert_eq!(
        request.parent_span_id, caller,
        "the request continues the caller's trace"
    );

    let publish = find("publish span", &|s| s.name == "publish task-events");
    assert_eq!(publish.kind, SpanKind::Producer as i32);
    assert_eq!(publish.service, api);
    let (chain, root) = ancestors(publish);
    assert!(
        chain.iter().any(|s| s.span_id == request.span_id) && root == caller,
        "the publish span is under the request: {listing:#?}"
    );

    let consumer = find("audit span", &is_audit);
    assert_eq!(consumer.kind, SpanKind::Consumer as i32);
    assert_eq!(consumer.service, audit);
    assert_eq!(
        consumer.attributes["messaging.message.id"].len(),
        36,
        "the event's id"
    );
    let (chain, root) = ancestors(consumer);
    assert!(
        chain.iter().any(|s| s.span_id == request.span_id) && root == caller,
        "the audit span is under the request, every link in place: {listing:#?}"
    );
    assert!(
        chain.iter().any(|s| s.name.starts_with("pubsub/")),
        "daprd's delivery span is between (the event's context crossed Kafka): {listing:#?}"
    );
}

/// Completing a recurring task: the recurrence worker asks the API for the next occurrence through Dapr
/// service invocation (worker sidecar → API sidecar → API with the app token).
pub async fn recurring_completion_schedules_the_next(p: &Platform) {
    let (token, title, task) =
        recurring_task(p, "water the plants", "2027-01-04T08:00", "FREQ=DAILY").await;
    let id = task["id"].as_str().expect("an id");
    complete(p, &token, id).await;
    let next = eventually(WITHIN, "the next occurrence", || async {
        open_titled(p, &token, &title).await.into_iter().next()
    })
    .await;
    assert_ne!(next["id"], task["id"]);
    assert!(
        next["due"].to_string().contains("2027-01-05"),
        "the next occurrence is the next day: {next}"
    );
    // Wait for the completion to be fully consumed (audited), then count: exactly one next occurrence.
    completion_audited(p, &token, id).await;
    assert_eq!(open_titled(p, &token, &title).await.len(), 1);
    // The worker counts once the API has answered; the new task can be listed a moment before that.
    eventually(
        WITHIN,
        "the recurrence worker to count the occurrence",
        || async {
            (p.metric(
                &p.app_id("recurrence"),
                "recurrence_occurrences_created_total",
            )
            .await
                >= 1.0)
                .then_some(())
        },
    )
    .await;
}

/// `X-Todo-Signature`: `sha256=` + HMAC-SHA256 of `"{X-Todo-Timestamp}.{body}"`.
fn signature_is_valid(hook: &crate::support::Hook) -> bool {
    let header = |name: &str| {
        hook.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("any key length");
    mac.update(format!("{}.{}", header("x-todo-timestamp"), hook.body).as_bytes());
    header("x-todo-signature") == format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A due reminder: the cron binding drives the reminders worker, whose `reminder.due` event reaches the
/// notifier through Kafka: one email (aiosmtpd) and one signed webhook.
pub async fn due_reminder_sends_one_email_and_one_webhook(p: &Platform) {
    let address = email("reminder");
    let token = p.signup(&address, "UTC").await;
    let soon = |seconds: i64| {
        (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds)).to_string()
    };
    let first = create(
        p,
        &token,
        json!({ "title": "call the dentist", "due": "2027-02-01T10:00", "reminders": [{ "at": soon(2) }] }),
    )
    .await;
    let first_id = first["id"].as_str().expect("an id").to_owned();
    let hooks_of = |id: &str| -> Vec<crate::support::Hook> {
        p.webhook
            .received()
            .into_iter()
            .filter(|h| h.body.contains(id))
            .collect()
    };
    eventually(WITHIN, "the reminder email and webhook", || async {
        (!p.smtp.to(&address).is_empty() && !hooks_of(&first_id).is_empty()).then_some(())
    })
    .await;
    let mail = &p.smtp.to(&address)[0];
    assert!(mail.contains("Reminder: call the dentist"), "{mail}");
    let hook = &hooks_of(&first_id)[0];
    assert!(
        signature_is_valid(hook),
        "the webhook is signed with the platform's secret: {hook:?}"
    );

    // A later reminder of the same user arriving proves later cron ticks ran; the first is still sent once.
    let second = create(
        p,
        &token,
        json!({ "title": "book the flight", "due": "2027-02-01T10:00", "reminders": [{ "at": soon(2) }] }),
    )
    .await;
    let second_id = second["id"].as_str().expect("an id").to_owned();
    eventually(WITHIN, "the second reminder", || async {
        (p.smtp.to(&address).len() >= 2 && !hooks_of(&second_id).is_empty()).then_some(())
    })
    .await;
    assert_eq!(p.smtp.to(&address).len(), 2, "one email per reminder");
    assert_eq!(hooks_of(&first_id).len(), 1, "one webhook per reminder");
}

/// An event no consumer can read is answered DROP, and Dapr moves it to the dead-letter topic the
/// operator's Subscription names; the tap reads it back from Kafka.
pub async fn poison_event_lands_on_the_dead_letter_topic(p: &Platform) {
    let (topic, dead_letters) = &p.topics["task-events"];
    let id = uuid::Uuid::now_v7().to_string();
    let poison = json!({
        "specversion": "1.0",
        "id": id,
        "source": "/pipeline-test",
        "type": "todo.task.created.v1",
        "subject": id,
        "datacontenttype": "application/json",
        "data": { "not": "a task event" },
    });
    p.tap.publish(topic, &id, &poison).await;
    let dead = eventually(
        WITHIN,
        "the poison event on the dead-letter topic",
        || async {
            p.tap
                .received(dead_letters)
                .into_iter()
                .find(|e| e["id"] == id.as_str())
        },
    )
    .await;
    assert_eq!(
        dead["data"], poison["data"],
        "dead-lettered as it was published"
    );
}

/// A subscriber answering RETRY gets the event again: the recurrence worker is down when a recurring task
/// is completed, the API is down when the worker comes back (so it answers RETRY), and once the API is
/// back the redelivered event creates the next occurrence — once. Runs alone: it stops the API.
pub async fn retry_is_redelivered_after_outages(p: &Platform) {
    let (token, title, task) =
        recurring_task(p, "pay rent", "2027-03-01T09:00", "FREQ=MONTHLY").await;
    let id = task["id"].as_str().expect("an id");
    let recurrence = p.app_id("recurrence");
    let api = p.app_id("api");
    p.kill_app(&recurrence).await;
    complete(p, &token, id).await;
    // The completion is on Kafka once the audit worker has it.
    completion_audited(p, &token, id).await;
    p.kill_app(&api).await;
    let log = p.app_log(&recurrence).await;
    let retries_before = count_lines(&log, "event will be retried");
    p.start_app(&recurrence).await;
    eventually(WITHIN, "the recurrence worker to answer RETRY", || async {
        (count_lines(&log, "event will be retried") > retries_before).then_some(())
    })
    .await;
    p.start_app(&api).await;
    p.wait_ready(&api).await;
    let next = eventually(
        Duration::from_secs(120),
        "the next occurrence after redelivery",
        || async { Some(open_titled(p, &token, &title).await.len()).filter(|n| *n > 0) },
    )
    .await;
    assert_eq!(next, 1, "redelivery creates the next occurrence once");
    p.wait_ready(&recurrence).await;
}

/// A mail server down when a reminder fires: the notifier records the email as retrying with the reason and
/// sends it once the server is back (on its backoff), once; the webhook went out meanwhile. Runs alone: it
/// stops the mail server.
pub async fn email_waits_out_a_mail_server_outage(p: &Platform) {
    let address = email("outage");
    let token = p.signup(&address, "UTC").await;
    p.smtp.stop().await;
    let at = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1)).to_string();
    let task = create(
        p,
        &token,
        json!({ "title": "renew the passport", "due": "2027-02-01T10:00", "reminders": [{ "at": at }] }),
    )
    .await;
    let id = task["id"].as_str().expect("an id").to_owned();
    let deliveries = || async {
        let (status, body) = p
            .call(Method::GET, "/api/v1/deliveries", &token, None)
            .await;
        assert_eq!(status, 200, "deliveries: {body}");
        let all = body["items"]
            .as_array()
            .or(body.as_array())
            .cloned()
            .unwrap_or_default();
        all.into_iter()
            .filter(|d| d["task_id"] == id.as_str())
            .collect::<Vec<Value>>()
    };
    let retrying = eventually(WITHIN, "the email to be retrying", || async {
        deliveries()
            .await
            .into_iter()
            .find(|d| d["channel"] == "email" && d["status"] == "retrying")
    })
    .await;
    assert!(
        retrying["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "the reason is kept: {retrying}"
    );
    assert!(p.smtp.to(&address).is_empty());
    p.smtp.resume().await;
    eventually(
        Duration::from_secs(120),
        "the email after the outage",
        || async {
            let sent = deliveries()
                .await
                .into_iter()
                .any(|d| d["channel"] == "email" && d["status"] == "sent");
            (sent && !p.smtp.to(&address).is_empty()).then_some(())
        },
    )
    .await;
    assert_eq!(p.smtp.to(&address).len(), 1, "sent once");
    let webhook = deliveries()
        .await
        .into_iter()
        .find(|d| d["channel"] == "webhook");
    assert_eq!(
        webhook.map(|d| d["status"].clone()),
        Some(json!("sent")),
        "the webhook did not wait for the mail server"
    );
}

fn count_lines(path: &std::path::Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// 10,000 writes by 20 users while the audit worker is killed (`kill -9`) and restarted, the audit worker's
/// and the API's daprd are restarted, and the Kafka broker is restarted: every event is audited exactly
/// once, and each user's events arrive in commit order.
pub async fn writes_survive_restarts_of_worker_sidecars_and_broker(p: &Platform) {
    const USERS: usize = 20;
    const WRITES: usize = 500;
    let audit = p.app_id("audit");
    let api = p.app_id("api");
    let mut tokens = Vec::new();
    for n in 0..USERS {
        tokens.push(p.signup(&email(&format!("load{n}")), "UTC").await);
    }
    let mut writers = Vec::new();
    for token in tokens.clone() {
        let http = p.http.clone();
        let base = p.api_url.clone();
        writers.push(tokio::spawn(async move {
            let call = |method: Method, path: String, body: Value| {
                http.request(method, format!("{base}{path}"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
            };
            let created: Value = call(
                Method::POST,
                "/api/v1/tasks".into(),
                json!({ "title": "v0" }),
            )
            .await
            .expect("create")
            .json()
            .await
            .expect("created task");
            let id = created["id"].as_str().expect("an id").to_owned();
            for n in 1..WRITES {
                let r = call(
                    Method::PATCH,
                    format!("/api/v1/tasks/{id}"),
                    json!({ "title": format!("v{n}") }),
                )
                .await
                .expect("update");
                assert_eq!(r.status().as_u16(), 200);
            }
            (token, id)
        }));
    }
    let tapped = |n: usize| async move {
        eventually(WITHIN, &format!("{n} events through Kafka"), || async {
            (p.tap.count(&p.topics["task-events"].0) >= n).then_some(())
        })
        .await;
    };
    tapped(2_000).await;
    p.kill_app(&audit).await;
    p.start_app(&audit).await;
    tapped(4_000).await;
    p.stop_sidecar(&audit).await;
    p.start_sidecar(&audit).await;
    p.stop_sidecar(&api).await;
    p.start_sidecar(&api).await;
    tapped(6_000).await;
    p.broker.restart().await;
    let mut tasks = Vec::new();
    for writer in writers {
        tasks.push(writer.await.expect("writer"));
    }
    p.wait_ready(&audit).await;
    p.wait_ready(&api).await;
    for (token, id) in &tasks {
        let kinds = eventually(Duration::from_secs(180), "every write audited", || async {
            let kinds = activity(p, token, id).await;
            (kinds.len() >= WRITES).then_some(kinds)
        })
        .await;
        assert_eq!(kinds.len(), WRITES, "each event audited exactly once");
    }
    // Per-user order as the tap saw it (its own consumer group, never restarted).
    let events = p.tap.received(&p.topics["task-events"].0);
    let ids: HashSet<&str> = tasks.iter().map(|(_, id)| id.as_str()).collect();
    let mut titles: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for event in &events {
        let subject = event["subject"].as_str().unwrap_or_default();
        if ids.contains(subject) && seen.insert(event["id"].to_string()) {
            let title = event["data"]["task"]["title"].as_str().unwrap_or_default();
            let n: usize = title
                .trim_start_matches('v')
                .parse()
                .expect("a numbered title");
            titles.entry(subject.to_owned()).or_default().push(n);
        }
    }
    for (task, sequence) in titles {
        assert_eq!(
            sequence,
            (0..WRITES).collect::<Vec<_>>(),
            "task {task}: events in commit order, none lost"
        );
    }
}
