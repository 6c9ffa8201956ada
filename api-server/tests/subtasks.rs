//! Subtasks over HTTP and MCP, on SQLite and PostgreSQL.

use crate::common::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn titles(body: &Value) -> Vec<&str> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect()
}

http_test!(
    /// A checklist under a task: created with parent_id, counted done/total on the parent, listed with
    /// parent=, left out with parent=none, completed with the parent; limits are 422s naming the field,
    /// and another user's task cannot take subtasks.
    subtask_flow, |app| {
    let token = signup(&app, "ada@example.com", "UTC").await;
    let t = Some(token.as_str());
    let trip = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"title": "Pack for the trip"}))).await;
    let trip_id = trip.body["id"].as_str().unwrap().to_owned();
    for item in ["Passport", "Charger", "Sunscreen"] {
        let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"title": item, "parent_id": trip_id}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["parent_id"], trip_id.as_str());
    }
    let subs = call(&app, Method::GET, &format!("/api/v1/tasks?parent={trip_id}&sort=title"), t, None).await;
    assert_eq!(titles(&subs.body), ["Charger", "Passport", "Sunscreen"]);
    let passport = subs.body["items"][1]["id"].as_str().unwrap();
    let via_mcp = call(&app, Method::POST, "/mcp", t, Some(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "complete_task", "arguments": {"id": passport}}}))).await;
    assert_eq!(via_mcp.body["result"]["isError"], false);
    let parent = call(&app, Method::GET, &format!("/api/v1/tasks/{trip_id}"), t, None).await;
    assert_eq!((parent.body["subtask_count"].as_i64(), parent.body["subtasks_done"].as_i64()), (Some(3), Some(1)));
    let top = call(&app, Method::GET, "/api/v1/tasks?parent=none", t, None).await;
    assert_eq!(titles(&top.body), ["Pack for the trip"]);
    let r = call(&app, Method::POST, "/mcp", t, Some(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "create_task", "arguments": {"title": "Adapter", "parent_id": trip_id}}}))).await;
    assert_eq!(r.body["result"]["structuredContent"]["parent_id"], trip_id.as_str(), "{}", r.body);

    let done = call(&app, Method::POST, &format!("/api/v1/tasks/{trip_id}/complete"), t, None).await;
    assert_eq!((done.body["subtask_count"].as_i64(), done.body["subtasks_done"].as_i64()), (Some(4), Some(4)));

    let bob = signup(&app, "bob@example.com", "UTC").await;
    for (token, body, code, field) in [
        (bob.as_str(), json!({"title": "x", "parent_id": trip_id}), "unknown_parent", "parent_id"),
        (token.as_str(), json!({"title": "x", "parent_id": trip_id}), "parent_completed", "parent_id"),
        (token.as_str(), json!({"title": "x", "parent_id": "nope"}), "invalid_value", "parent_id"),
    ] {
        let r = call(&app, Method::POST, "/api/v1/tasks", Some(token), Some(body)).await;
        assert_eq!(r.status.as_u16() / 100, 4, "{}", r.body);
        if r.status == StatusCode::UNPROCESSABLE_ENTITY {
            assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, code, Some(field));
        }
    }
    let r = call(&app, Method::GET, "/api/v1/tasks?parent=12", t, None).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", Some("parent"));
});
