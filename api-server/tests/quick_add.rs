//! Quick add over HTTP, on SQLite and PostgreSQL: `POST /api/v1/tasks/parse` reads a line in the caller's
//! zone, and `POST /api/v1/tasks` creates from the same `text`, with explicit fields beside it only where
//! the text is silent.

use crate::common::*;
use axum::http::{Method, StatusCode};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

/// Tomorrow's date in `zone`, read before and after `f` (a test running across midnight accepts either).
async fn tomorrow_around<F: Future<Output = Value>>(zone: &str, f: F) -> (Value, [String; 2]) {
    let tz = TimeZone::get(zone).unwrap();
    let tomorrow = || {
        let today = Timestamp::now().to_zoned(tz.clone()).date();
        today.checked_add(1.day()).unwrap().to_string()
    };
    let before = tomorrow();
    let value = f.await;
    (value, [before, tomorrow()])
}

http_test!(
    /// The example, read in the caller's zone: what each recognised piece means and where it is;
    /// a title with date-like words stays whole.
    parse_reads_in_the_callers_zone, |app| {
    let token = signup(&app, "ada@example.com", "Europe/Berlin").await;
    let t = Some(token.as_str());
    let text = "Call mom tomorrow 5pm every sunday #family !high";
    let (body, tomorrow) = tomorrow_around("Europe/Berlin", async {
        let r = call(&app, Method::POST, "/api/v1/tasks/parse", t, Some(json!({"text": text}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }).await;
    assert_eq!(body["title"], "Call mom");
    assert!(tomorrow.contains(&body["due"]["date"].as_str().unwrap().to_owned()), "{body}");
    assert_eq!(body["due"]["time"], "17:00:00");
    assert_eq!(body["due"]["time_zone"], "Europe/Berlin");
    assert_eq!(body["recurrence"]["rrule"], "FREQ=WEEKLY;BYDAY=SU");
    assert_eq!(body["tags"], json!(["family"]));
    assert_eq!(body["priority"], "high");
    assert_eq!(body["project"], Value::Null);
    let spans: Vec<(&str, u64, u64, &str)> = body["spans"].as_array().unwrap().iter().map(|s| (
        s["kind"].as_str().unwrap(), s["start"].as_u64().unwrap(), s["end"].as_u64().unwrap(), s["text"].as_str().unwrap(),
    )).collect();
    assert_eq!(spans, [
        ("date", 9, 17, "tomorrow"), ("time", 18, 21, "5pm"), ("recurrence", 22, 34, "every sunday"),
        ("tag", 35, 42, "#family"), ("priority", 43, 48, "!high"),
    ]);

    let r = call(&app, Method::POST, "/api/v1/tasks/parse", t, Some(json!({"text": "Read The Day of the Jackal"}))).await;
    assert_eq!(r.body["title"], "Read The Day of the Jackal");
    assert_eq!(r.body["due"], Value::Null);
    assert_eq!(r.body["spans"], json!([]));
    let r = call(&app, Method::POST, "/api/v1/tasks/parse", t, Some(json!({"text": "Plan trip +travel remind me 1h before"}))).await;
    assert_eq!(r.body["project"], "travel", "parsing reports a project; creating refuses it");
    assert_eq!(r.body["reminders"], json!([{"minutes_before": 60}]));

    let long = "x".repeat(2001);
    let r = call(&app, Method::POST, "/api/v1/tasks/parse", t, Some(json!({"text": long}))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "too_long", Some("text"));
    let r = call(&app, Method::POST, "/api/v1/tasks/parse", t, Some(json!({}))).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "required", Some("text"));
    let r = call(&app, Method::POST, "/api/v1/tasks/parse", t, Some(json!({"text": "x", "zone": "UTC"}))).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "unknown_field", Some("zone"));
    let r = call(&app, Method::POST, "/api/v1/tasks/parse", None, Some(json!({"text": "x"}))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
});

http_test!(
    /// Creating from text gives the task everything the text says; the list shows it as the parse did.
    create_from_text, |app| {
    let token = signup(&app, "ada@example.com", "America/New_York").await;
    let t = Some(token.as_str());
    let text = "Call mom tomorrow 5pm every sunday #family !high";
    let (task, tomorrow) = tomorrow_around("America/New_York", async {
        let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"text": text}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }).await;
    assert_eq!(task["title"], "Call mom");
    assert!(tomorrow.contains(&task["due"]["date"].as_str().unwrap().to_owned()), "{task}");
    assert_eq!(task["due"]["time"], "17:00:00");
    assert_eq!(task["recurrence"]["rrule"], "FREQ=WEEKLY;BYDAY=SU");
    assert_eq!(task["tags"][0]["name"], "family");
    assert_eq!(task["priority"], "high");
    let listed = call(&app, Method::GET, "/api/v1/tasks?tags=family", t, None).await;
    assert_eq!(listed.body["items"][0]["id"], task["id"]);

    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"text": "Water plants every! 3 days"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["recurrence"]["rrule"], "FREQ=DAILY;INTERVAL=3");
    assert_eq!(r.body["recurrence"]["basis"], "completion");
    assert!(r.body["due"]["all_day"].as_bool().unwrap());

    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"text": "Dentist tomorrow 9am remind me 30m before"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["reminders"][0]["minutes_before"], 30);
    let due_at: Timestamp = r.body["due"]["at"].as_str().unwrap().parse().unwrap();
    let fire_at: Timestamp = r.body["reminders"][0]["fire_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due_at.duration_since(fire_at).as_mins(), 30);
});

http_test!(
    /// Fields beside text: those the text leaves unset apply; one the text sets too, or a title, is a 422
    /// conflict naming it; a +project is refused by name; errors in what the text sets name `text`.
    text_and_fields, |app| {
    let token = signup(&app, "ada@example.com", "UTC").await;
    let t = Some(token.as_str());
    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({
        "text": "Pay rent #bills", "priority": "urgent", "description": "to the landlord", "due": "2027-01-05",
    }))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!((r.body["title"].as_str(), r.body["priority"].as_str()), (Some("Pay rent"), Some("urgent")));
    assert_eq!(r.body["description"], "to the landlord");
    assert_eq!(r.body["due"]["date"], "2027-01-05");
    assert_eq!(r.body["tags"][0]["name"], "bills");

    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"text": "Stretch every day", "due": "2027-01-05T07:00"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "a rule alone leaves the start to due: {}", r.body);
    assert_eq!(r.body["due"]["date"], "2027-01-05");
    assert_eq!(r.body["recurrence"]["rrule"], "FREQ=DAILY");

    for (body, field) in [
        (json!({"text": "Pay rent !low", "priority": "high"}), "priority"),
        (json!({"text": "Pay rent tomorrow", "due": "2027-01-05"}), "due"),
        (json!({"text": "Pay rent 5pm", "due": "2027-01-05"}), "due"),
        (json!({"text": "Pay rent #bills", "tags": ["home"]}), "tags"),
        (json!({"text": "Pay rent monthly", "recurrence": {"rrule": "FREQ=DAILY"}}), "recurrence"),
        (json!({"text": "Pay rent tomorrow remind me 1h before", "reminders": [{"minutes_before": 5}]}), "reminders"),
        (json!({"text": "Pay rent", "title": "Pay rent"}), "title"),
    ] {
        let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(body)).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "conflict", Some(field));
    }
    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"text": "Plan trip tomorrow +travel"}))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unknown_project", Some("text"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("travel"), "{}", r.body);
    let trips = call(&app, Method::POST, "/api/v1/projects", t, Some(json!({"name": "Travel plans"}))).await;
    let trips_id = trips.body["id"].as_str().unwrap();
    let read = call(&app, Method::POST, "/api/v1/tasks/parse", t, Some(json!({"text": "Plan trip +travel_plans"}))).await;
    assert_eq!((read.body["project"].as_str(), read.body["project_id"].as_str()), (Some("travel_plans"), Some(trips_id)));
    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"text": "Plan trip tomorrow +Travel_Plans"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!((r.body["title"].as_str(), r.body["project_id"].as_str()), (Some("Plan trip"), Some(trips_id)));
    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"text": "Plan trip +travel_plans", "project_id": trips_id}))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "conflict", Some("project_id"));
    call(&app, Method::PATCH, &format!("/api/v1/projects/{trips_id}"), t, Some(json!({"archived": true}))).await;
    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"text": "Plan trip +travel_plans"}))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "project_archived", Some("text"));
    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"text": "tomorrow #home"}))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "required", Some("text"));
    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"text": "Call remind me 30m before"}))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "due_required", Some("text"));
    let long_tag = format!("Pay rent #{}", "t".repeat(65));
    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"text": long_tag}))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "too_long", Some("text"));
    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"text": "x".repeat(2001)}))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "too_long", Some("text"));
    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"priority": "high"}))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "required", Some("title"));
    let listed = call(&app, Method::GET, "/api/v1/tasks", t, None).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2, "nothing refused was created");
});
