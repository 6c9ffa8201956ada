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
    /// a skipped date and COUNT; a first due inside the gap keeps the series' 02:30, saved or not.
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

    // Saved, the same series: the first due moved out of the gap, the rest keep the anchor's 02:30.
    let gap = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({
        "title": "Night shift", "due": "2026-03-29T02:30", "recurrence": {"rrule": "FREQ=DAILY"},
    }))).await;
    assert_eq!(gap.body["due"]["time"], "03:30:00");
    assert_eq!(gap.body["series_anchor"], "2026-03-29T02:30:00");
    let uri = format!("/api/v1/tasks/{}/occurrences?limit=3", gap.body["id"].as_str().unwrap());
    let r = call(&app, Method::GET, &uri, t, None).await;
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

http_test!(
    /// "Skip this one" over REST and MCP: the task moves to the next date with the skipped one excepted, the
    /// occurrence preview no longer lists it, and what cannot be skipped is a 409 naming why (a tool error
    /// through MCP).
    skip_an_occurrence, |app| {
    let token = signup(&app, "ada@example.com", "America/New_York").await;
    let t = Some(token.as_str());
    let task = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({
        "title": "Standup", "due": "2026-03-06T09:30", "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=FR"},
    }))).await;
    assert_eq!(task.status, StatusCode::CREATED, "{}", task.body);
    let id = task.body["id"].as_str().unwrap();
    let r = call(&app, Method::POST, &format!("/api/v1/tasks/{id}/skip"), t, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["id"], id);
    assert_eq!(r.body["status"], "open");
    assert_eq!(r.body["due"]["date"], "2026-03-13");
    assert_eq!(r.body["due"]["at"], "2026-03-13T13:30:00Z", "09:30 in daylight time");
    assert_eq!(r.body["recurrence"]["exdates"], json!(["2026-03-06"]));
    assert_eq!(r.body["recurrence"]["rrule"], "FREQ=WEEKLY;BYDAY=FR");

    let rpc = call(&app, Method::POST, "/mcp", t, Some(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "skip_occurrence", "arguments": {"id": id}}}))).await;
    assert_eq!(rpc.body["result"]["isError"], false, "{}", rpc.body);
    assert_eq!(rpc.body["result"]["structuredContent"]["due"]["date"], "2026-03-20");
    let r = call(&app, Method::GET, &format!("/api/v1/tasks/{id}/occurrences?limit=2"), t, None).await;
    let dates: Vec<&str> = r.body["occurrences"].as_array().unwrap().iter().map(|o| o["date"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2026-03-20", "2026-03-27"]);

    let plain = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"title": "Once", "due": "2026-05-01"}))).await;
    let plain_id = plain.body["id"].as_str().unwrap();
    let err = call(&app, Method::POST, &format!("/api/v1/tasks/{plain_id}/skip"), t, None).await;
    assert_eq!(err.status, StatusCode::CONFLICT, "{}", err.body);
    assert_eq!((err.body["error"]["code"].as_str(), err.body["error"]["field"].as_str()), (Some("not_recurring"), Some("recurrence")));
    let rpc = call(&app, Method::POST, "/mcp", t, Some(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "skip_occurrence", "arguments": {"id": plain_id}}}))).await;
    assert_eq!(rpc.body["result"]["isError"], true, "{}", rpc.body);
    assert!(rpc.body["result"]["content"][0]["text"].as_str().unwrap().starts_with("not_recurring"), "{}", rpc.body);

    let bob = signup(&app, "bob@example.com", "UTC").await;
    let foreign = call(&app, Method::POST, &format!("/api/v1/tasks/{id}/skip"), Some(&bob), None).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
});
