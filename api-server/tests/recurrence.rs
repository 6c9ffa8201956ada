//! Recurrence previews over HTTP, on SQLite and PostgreSQL.

use crate::common::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn instants(body: &Value) -> Vec<&str> {
    body["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["at"].as_str().unwrap())
        .collect()
}

http_test!(
    /// A saved task's upcoming occurrences, and an unsaved rule's: in the user's zone, through a DST change,
    /// a skipped date and COUNT; a first due inside the gap keeps the series' 02:30.
    occurrence_previews, |app| {
    let token = signup(&app, "ada@example.com", "Europe/Berlin").await;
    let t = Some(token.as_str());
    let task = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({
        "title": "Stretch", "due": "2026-03-27T09:00",
        "recurrence": {"rrule": "FREQ=DAILY;COUNT=4", "exdates": ["2026-03-29"]},
    }))).await;
    assert_eq!(task.status, StatusCode::CREATED, "{}", task.body);
    let uri = format!("/api/v1/tasks/{}/occurrences?limit=5", task.body["id"].as_str().unwrap());
    let r = call(&app, Method::GET, &uri, t, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        instants(&r.body),
        ["2026-03-27T08:00:00Z", "2026-03-28T08:00:00Z", "2026-03-30T07:00:00Z"]
    );
    assert_eq!(r.body["occurrences"][2]["time"], "09:00:00");
    assert_eq!(r.body["occurrences"][2]["time_zone"], "Europe/Berlin");

    let r = call(&app, Method::POST, "/api/v1/recurrence/preview", t, Some(json!({
        "due": "2026-03-29T02:30", "recurrence": {"rrule": "FREQ=DAILY"}, "limit": 3,
    }))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        instants(&r.body),
        ["2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"]
    );

    let plain = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"title": "Once", "due": "2026-05-01"}))).await;
    assert_eq!(plain.status, StatusCode::CREATED);
    let uri = format!("/api/v1/tasks/{}/occurrences", plain.body["id"].as_str().unwrap());
    let r = call(&app, Method::GET, &uri, t, None).await;
    assert_eq!(r.body["occurrences"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["occurrences"][0]["date"], "2026-05-01");

    for (body, field) in [
        (json!({"due": "2026-01-01", "recurrence": {"rrule": "FREQ=DAILY"}, "limit": 0}), "limit"),
        (json!({"due": "2026-01-01", "recurrence": {"rrule": "FREQ=DAILY;UNTIL=2027x"}}), "recurrence.rrule"),
        (json!({"due": "soon", "recurrence": {"rrule": "FREQ=DAILY"}}), "due"),
    ] {
        let err = call(&app, Method::POST, "/api/v1/recurrence/preview", t, Some(body)).await;
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", err.body);
        assert_eq!(err.body["error"]["field"], field, "{}", err.body);
    }
    let uri = format!("/api/v1/tasks/{}/occurrences?limit=101", task.body["id"].as_str().unwrap());
    let err = call(&app, Method::GET, &uri, t, None).await;
    assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", err.body);
    assert_eq!(err.body["error"]["field"], "limit");
});
