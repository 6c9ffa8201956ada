//! The MCP endpoint speaks JSON-RPC 2.0 as the Model Context Protocol's Streamable HTTP transport expects,
//! and its tools behave like the REST API (same validation, same scoping).

use crate::common::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

async fn rpc(app: &axum::Router, token: &str, body: Value) -> Reply {
    call(app, Method::POST, "/mcp", Some(token), Some(body)).await
}

http_test!(
    /// Handshake, tool discovery, and a create → search → complete round trip through tools.
    tools_round_trip, |app| {
    let t = signup(&app, "ada@example.com", "Europe/Paris").await;
    let init = rpc(&app, &t, json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}})).await;
    assert_eq!(init.body["result"]["protocolVersion"], "2025-06-18");
    assert!(init.body["result"]["capabilities"]["tools"].is_object());
    let note = rpc(&app, &t, json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    assert_eq!(note.status, StatusCode::ACCEPTED);
    let tools = rpc(&app, &t, json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).await;
    let names: Vec<&str> = tools.body["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["list_tasks", "create_task", "parse_task", "update_task", "complete_task", "skip_occurrence", "delete_task", "list_deliveries", "retry_delivery", "snooze_reminder", "dismiss_reminder", "alerts", "today", "upcoming", "list_projects", "create_project", "list_tags", "notification_settings"]);
    for tool in tools.body["result"]["tools"].as_array().unwrap() {
        assert_eq!(tool["inputSchema"]["type"], "object", "{}", tool["name"]);
    }
    let created = rpc(&app, &t, json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "create_task", "arguments": {"title": "Book train tickets", "due": "2026-07-01T08:00", "tags": ["travel"]}}})).await;
    let task = &created.body["result"]["structuredContent"];
    assert_eq!(created.body["result"]["isError"], false);
    assert_eq!(task["due"]["time"], "08:00:00");
    assert_eq!(task["due"]["time_zone"], "Europe/Paris");
    let id = task["id"].as_str().unwrap();
    let found = rpc(&app, &t, json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "list_tasks", "arguments": {"q": "train"}}})).await;
    assert_eq!(found.body["result"]["structuredContent"]["items"][0]["id"], id);
    let done = rpc(&app, &t, json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "complete_task", "arguments": {"id": id}}})).await;
    assert_eq!(done.body["result"]["structuredContent"]["status"], "completed");
    let rest = call(&app, Method::GET, &format!("/api/v1/tasks/{id}"), Some(&t), None).await;
    assert_eq!(rest.body["status"], "completed", "the same task the REST API sees");
});

http_test!(
    /// Protocol errors are JSON-RPC errors; domain errors are tool results the assistant can read;
    /// another user's task is not found; no token is a 401.
    errors, |app| {
    let ada = signup(&app, "ada@example.com", "UTC").await;
    let bob = signup(&app, "bob@example.com", "UTC").await;
    let unknown = rpc(&app, &ada, json!({"jsonrpc": "2.0", "id": 1, "method": "resources/list"})).await;
    assert_eq!(unknown.body["error"]["code"], -32601);
    let bad_args = rpc(&app, &ada, json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "create_task", "arguments": {"titel": "typo"}}})).await;
    assert_eq!(bad_args.body["error"]["code"], -32602);
    let invalid = rpc(&app, &ada, json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "create_task", "arguments": {"title": "x", "due": "someday"}}})).await;
    assert_eq!(invalid.body["result"]["isError"], true);
    assert!(invalid.body["result"]["content"][0]["text"].as_str().unwrap().contains("field due"));
    let task = call(&app, Method::POST, "/api/v1/tasks", Some(&ada), Some(json!({"title": "ada's"}))).await.body;
    let foreign = rpc(&app, &bob, json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "complete_task", "arguments": {"id": task["id"]}}})).await;
    assert_eq!(foreign.body["result"]["isError"], true);
    assert!(foreign.body["result"]["content"][0]["text"].as_str().unwrap().starts_with("not_found"));
    let garbage = raw(&app, Method::POST, "/mcp", Some(&ada), Some(("application/json", "{nope"))).await;
    assert_eq!(garbage.body["error"]["code"], -32700);
    let anon = raw(&app, Method::POST, "/mcp", None, Some(("application/json", "{}"))).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
});

http_test!(
    /// Quick add through tools: parse_task reads a line without creating anything, create_task creates from
    /// the same text; what the text cannot be (a +project) comes back as a tool error naming the field.
    quick_add_tools, |app| {
    let t = signup(&app, "ada@example.com", "Australia/Sydney").await;
    let read = rpc(&app, &t, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "parse_task", "arguments": {"text": "Pay rent every month on the 1st 9am #bills p1"}}})).await;
    let parsed = &read.body["result"]["structuredContent"];
    assert_eq!(read.body["result"]["isError"], false, "{}", read.body);
    assert_eq!(parsed["title"], "Pay rent");
    assert_eq!(parsed["recurrence"]["rrule"], "FREQ=MONTHLY;BYMONTHDAY=1");
    assert_eq!(parsed["due"]["time"], "09:00:00");
    assert_eq!(parsed["due"]["time_zone"], "Australia/Sydney");
    assert!(parsed["due"]["date"].as_str().unwrap().ends_with("-01"), "{parsed}");
    assert_eq!(parsed["priority"], "urgent");
    let none = call(&app, Method::GET, "/api/v1/tasks", Some(&t), None).await;
    assert_eq!(none.body["items"], json!([]), "parsing creates nothing");

    let created = rpc(&app, &t, json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "create_task", "arguments": {"text": "Pay rent every month on the 1st 9am #bills p1", "description": "landlord"}}})).await;
    let task = &created.body["result"]["structuredContent"];
    assert_eq!(created.body["result"]["isError"], false, "{}", created.body);
    assert_eq!(task["title"], "Pay rent");
    assert_eq!(task["description"], "landlord");
    assert_eq!(task["due"], parsed["due"]);
    assert_eq!(task["recurrence"]["rrule"], "FREQ=MONTHLY;BYMONTHDAY=1");
    assert_eq!(task["tags"][0]["name"], "bills");
    assert_eq!(task["priority"], "urgent");

    let project = rpc(&app, &t, json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "create_task", "arguments": {"text": "Plan trip +travel"}}})).await;
    assert_eq!(project.body["result"]["isError"], true);
    let message = project.body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(message.starts_with("unknown_project") && message.contains("field text"), "{message}");
    let conflict = rpc(&app, &t, json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "create_task", "arguments": {"text": "Pay rent !low", "priority": "high"}}})).await;
    let message = conflict.body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(message.starts_with("conflict") && message.contains("field priority"), "{message}");
    let missing = rpc(&app, &t, json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "parse_task", "arguments": {}}})).await;
    assert_eq!(missing.body["error"]["code"], -32602);
});
