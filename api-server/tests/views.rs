//! The Today and Upcoming views over HTTP and MCP, on SQLite and PostgreSQL.

use crate::common::*;
use axum::http::{Method, StatusCode};
use jiff::ToSpan;
use serde_json::{Value, json};

fn titles(tasks: &Value) -> Vec<&str> {
    tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect()
}

http_test!(
    /// All-day tasks yesterday, today and tomorrow (in the account's zone, whatever time it is), and a
    /// daily series: Today splits overdue from today's, Upcoming puts each on its day and shows the
    /// series' coming occurrences; MCP answers the same; a bad `days` is a 422 naming it.
    today_and_upcoming, |app| {
    let token = signup(&app, "ada@example.com", "Pacific/Auckland").await;
    let t = Some(token.as_str());
    let tz = jiff::tz::TimeZone::get("Pacific/Auckland").unwrap();
    let today = jiff::Timestamp::now().to_zoned(tz).date();
    let day = |n: i64| today.checked_add(n.days()).unwrap().to_string();
    for (title, due) in [("Yesterday's", day(-1)), ("Today's", day(0)), ("Tomorrow's", day(1)), ("Next month's", day(40))] {
        let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"title": title, "due": due}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"title": "Stretch", "due": day(1),
        "recurrence": {"rrule": "FREQ=DAILY"}}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let r = call(&app, Method::GET, "/api/v1/views/today", t, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["date"], day(0));
    assert_eq!(titles(&r.body["overdue"]), ["Yesterday's"]);
    assert_eq!(titles(&r.body["today"]), ["Today's"]);

    let r = call(&app, Method::GET, "/api/v1/views/upcoming?days=3", t, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let days = r.body["days"].as_array().unwrap();
    assert_eq!(days.iter().map(|d| d["date"].as_str().unwrap().to_owned()).collect::<Vec<_>>(), [day(0), day(1), day(2)]);
    assert_eq!(titles(&days[0]["tasks"]), ["Today's"]);
    assert_eq!(titles(&days[1]["tasks"]), ["Tomorrow's", "Stretch"]);
    assert_eq!(titles(&days[2]["tasks"]), Vec::<&str>::new());
    assert_eq!(days[2]["occurrences"][0]["title"], "Stretch");
    assert_eq!(days[2]["occurrences"][0]["occurrence"], 2);

    let mcp = call(&app, Method::POST, "/mcp", t, Some(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "today", "arguments": {}}}))).await;
    assert_eq!(titles(&mcp.body["result"]["structuredContent"]["overdue"]), ["Yesterday's"], "{}", mcp.body);
    let mcp = call(&app, Method::POST, "/mcp", t, Some(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "upcoming", "arguments": {"days": 2}}}))).await;
    assert_eq!(mcp.body["result"]["structuredContent"]["days"].as_array().unwrap().len(), 2, "{}", mcp.body);

    for bad in ["0", "61", "soon"] {
        let r = call(&app, Method::GET, &format!("/api/v1/views/upcoming?days={bad}"), t, None).await;
        assert_eq!(r.status.as_u16() / 100, 4, "{bad}: {}", r.body);
        assert_eq!(r.body["error"]["field"], "days", "{bad}: {}", r.body);
    }
});
