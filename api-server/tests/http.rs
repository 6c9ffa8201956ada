//! The HTTP contract, through the real router (middleware included), on SQLite and PostgreSQL.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use todo_api::auth::TokenKeys;
use tower::ServiceExt;

http_test!(
    /// Sign up, log in, profile; every failure is a 4xx naming the field; tokens are required and checked.
    accounts, |app| {
    let token = signup(&app, "Ada@Example.com", "Europe/Berlin").await;
    let me = call(&app, Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!((me.body["email"].as_str(), me.body["time_zone"].as_str()), (Some("ada@example.com"), Some("Europe/Berlin")));
    let dup = call(&app, Method::POST, "/api/v1/auth/signup", None, Some(json!({"email": "ada@example.com", "password": "password123"}))).await;
    assert_error(&dup, StatusCode::CONFLICT, "email_taken", Some("email"));
    let login = call(&app, Method::POST, "/api/v1/auth/login", None, Some(json!({"email": "ADA@example.com", "password": "password123"}))).await;
    assert_eq!(login.status, StatusCode::OK);
    let wrong = call(&app, Method::POST, "/api/v1/auth/login", None, Some(json!({"email": "ada@example.com", "password": "nope-nope"}))).await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "unauthorized", None);
    let nobody = call(&app, Method::POST, "/api/v1/auth/login", None, Some(json!({"email": "x@example.com", "password": "nope-nope"}))).await;
    assert_eq!(nobody.body, wrong.body, "unknown email and wrong password look the same");
    for (body, code, field) in [
        (json!({"email": "not-an-email", "password": "password123"}), "invalid_email", "email"),
        (json!({"email": "b@example.com", "password": "short"}), "too_short", "password"),
        (json!({"email": "b@example.com", "password": "password123", "time_zone": "Mars/Base"}), "invalid_time_zone", "time_zone"),
    ] {
        let r = call(&app, Method::POST, "/api/v1/auth/signup", None, Some(body)).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, code, Some(field));
    }
    let anon = call(&app, Method::GET, "/api/v1/tasks", None, None).await;
    assert_error(&anon, StatusCode::UNAUTHORIZED, "unauthorized", None);
    assert_eq!(anon.headers["www-authenticate"], "Bearer");
    let stranger = todo_core::store::Owner {
        id: uuid::Uuid::now_v7(), email: "x@example.com".into(), display_name: String::new(), time_zone: "UTC".into(),
        tz: jiff::tz::TimeZone::UTC, created_at: jiff::Timestamp::UNIX_EPOCH, session_epoch: 0,
    };
    let forged = TokenKeys::new(b"another-secret", 60).issue(&stranger, jiff::Timestamp::now()).unwrap().0;
    assert_error(&call(&app, Method::GET, "/api/v1/me", Some(&forged), None).await, StatusCode::UNAUTHORIZED, "unauthorized", None);
    let patched = call(&app, Method::PATCH, "/api/v1/me", Some(&token), Some(json!({"time_zone": "Asia/Tokyo", "display_name": "Ada"}))).await;
    assert_eq!(patched.body["time_zone"], "Asia/Tokyo");
});

http_test!(
    /// Bad input of every kind: 400 for malformed requests, 413/415 for bodies, 422 for values — with a
    /// stable code and the field at fault, never a 500 — and nothing is half-applied.
    error_contract, |app| {
    let t = signup(&app, "ada@example.com", "UTC").await;
    let t = Some(t.as_str());
    let post = |body: &'static str| { let app = app.clone(); async move { raw(&app, Method::POST, "/api/v1/tasks", t, Some(("application/json", body))).await } };
    assert_error(&post("{\"title\": ").await, StatusCode::BAD_REQUEST, "malformed_json", None);
    assert_error(&post("{\"title\": \"a\"} trailing").await, StatusCode::BAD_REQUEST, "malformed_json", None);
    assert_error(&post("{\"title\": \"a\", \"bogus\": 1}").await, StatusCode::BAD_REQUEST, "unknown_field", Some("bogus"));
    assert_error(&post("{\"title\": \"a\", \"recurrence\": {\"freq\": \"daily\"}}").await, StatusCode::BAD_REQUEST, "unknown_field", Some("recurrence.freq"));
    assert_error(&post("{\"title\": 5}").await, StatusCode::BAD_REQUEST, "invalid_type", Some("title"));
    // Neither `title` nor `text`: each is optional on its own, so the body parses and the missing title is
    // a 422, like a blank one.
    assert_error(&post("{}").await, StatusCode::UNPROCESSABLE_ENTITY, "required", Some("title"));
    assert_error(&post("{\"title\": \"a\", \"priority\": \"critical\"}").await, StatusCode::BAD_REQUEST, "invalid_value", Some("priority"));
    assert_error(&post("{\"title\": \"a\", \"recurrence\": {\"interval\": 70000, \"frequency\": \"daily\"}}").await, StatusCode::BAD_REQUEST, "invalid_value", Some("recurrence.interval"));
    assert_error(&post("{\"title\": \"   \"}").await, StatusCode::UNPROCESSABLE_ENTITY, "required", Some("title"));
    assert_error(&post("{\"title\": \"a\", \"due\": \"2026-02-30\"}").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_due", Some("due"));
    assert_error(&post("{\"title\": \"a\", \"due\": \"2026-02-01\", \"recurrence\": {\"rrule\": \"FREQ=HOURLY\"}}").await,
        StatusCode::UNPROCESSABLE_ENTITY, "invalid_rrule", Some("recurrence.rrule"));
    assert_error(&post("{\"title\": \"a\", \"recurrence\": {\"rrule\": \"FREQ=DAILY\"}}").await, StatusCode::UNPROCESSABLE_ENTITY, "due_required", Some("recurrence"));
    assert_error(&post("{\"title\": \"a\", \"due\": \"2026-02-01\", \"reminders\": [{\"minutes_before\": 5}, {\"at\": \"x\"}]}").await,
        StatusCode::UNPROCESSABLE_ENTITY, "invalid_time", Some("reminders[1].at"));
    assert_error(&post("{\"title\": \"a\", \"tags\": [\"ok\", \"bad,tag\"]}").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_characters", Some("tags[1]"));
    let no_type = raw(&app, Method::POST, "/api/v1/tasks", t, Some(("text/plain", "{\"title\": \"a\"}"))).await;
    assert_error(&no_type, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None);
    let huge = format!("{{\"title\": \"a\", \"description\": \"{}\"}}", "x".repeat(70_000));
    let big = raw(&app, Method::POST, "/api/v1/tasks", t, Some(("application/json", &huge))).await;
    assert_error(&big, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None);
    assert_error(&call(&app, Method::GET, "/api/v1/tasks?bogus=1", t, None).await, StatusCode::BAD_REQUEST, "unknown_parameter", Some("bogus"));
    assert_error(&call(&app, Method::GET, "/api/v1/tasks?limit=0", t, None).await, StatusCode::UNPROCESSABLE_ENTITY, "out_of_range", Some("limit"));
    assert_error(&call(&app, Method::GET, "/api/v1/tasks/123", t, None).await, StatusCode::BAD_REQUEST, "invalid_path", Some("id"));
    assert_error(&call(&app, Method::GET, "/api/v1/nothing-here", t, None).await, StatusCode::NOT_FOUND, "not_found", None);
    assert_error(&call(&app, Method::PUT, "/api/v1/tasks", t, None).await, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None);
    let tag = call(&app, Method::POST, "/api/v1/tags", t, Some(json!({"name": "x", "color": "blue"}))).await;
    assert_error(&tag, StatusCode::UNPROCESSABLE_ENTITY, "invalid_color", Some("color"));
    let list = call(&app, Method::GET, "/api/v1/tasks", t, None).await;
    assert_eq!(list.body["items"], json!([]), "no rejected request left anything behind");
    assert_eq!(call(&app, Method::GET, "/api/v1/tags", t, None).await.body, json!([]), "not even a tag from a rejected task");
});

http_test!(
    /// Another user's task, tag and reminder are 404 on every route.
    scoping, |app| {
    let ada = signup(&app, "ada@example.com", "UTC").await;
    let bob = signup(&app, "bob@example.com", "UTC").await;
    let task = call(&app, Method::POST, "/api/v1/tasks", Some(&ada), Some(json!({"title": "secret", "due": "2026-05-01", "tags": ["private"],
        "reminders": [{"minutes_before": 10}]}))).await.body;
    let id = task["id"].as_str().unwrap();
    let tag = task["tags"][0]["id"].as_str().unwrap();
    let rem = task["reminders"][0]["id"].as_str().unwrap();
    for (method, uri, body) in [
        (Method::GET, format!("/api/v1/tasks/{id}"), None),
        (Method::PATCH, format!("/api/v1/tasks/{id}"), Some(json!({"title": "mine"}))),
        (Method::DELETE, format!("/api/v1/tasks/{id}"), None),
        (Method::POST, format!("/api/v1/tasks/{id}/complete"), None),
        (Method::POST, format!("/api/v1/tasks/{id}/next-occurrence"), None),
        (Method::GET, format!("/api/v1/tasks/{id}/reminders"), None),
        (Method::DELETE, format!("/api/v1/tasks/{id}/reminders/{rem}"), None),
        (Method::GET, format!("/api/v1/tags/{tag}"), None),
        (Method::PATCH, format!("/api/v1/tags/{tag}"), Some(json!({"name": "x"}))),
        (Method::DELETE, format!("/api/v1/tags/{tag}"), None),
    ] {
        let r = call(&app, method.clone(), &uri, Some(&bob), body).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found", None);
    }
    let still = call(&app, Method::GET, &format!("/api/v1/tasks/{id}"), Some(&ada), None).await;
    assert_eq!(still.body["title"], "secret");
});

http_test!(
    /// The whole task flow over HTTP: create with everything, filter + search + sort in one request, page
    /// with the cursor, complete, reopen, delete.
    task_flow, |app| {
    let t = signup(&app, "ada@example.com", "America/New_York").await;
    let t = Some(t.as_str());
    for i in 0..7 {
        let r = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({
            "title": format!("Write report part {i}"), "priority": if i % 2 == 0 { "high" } else { "low" },
            "due": format!("2026-06-0{}T09:30", i + 1), "tags": ["work"],
        }))).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.body["due"]["time_zone"], "America/New_York");
    }
    call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"title": "Buy milk"}))).await;
    let q = "/api/v1/tasks?q=report&priority=high&tags=work&status=open&sort=due&order=desc&limit=2";
    let mut seen = Vec::new();
    let mut uri = q.to_owned();
    loop {
        let page = call(&app, Method::GET, &uri, t, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen.extend(page.body["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(c) => uri = format!("{q}&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["Write report part 6", "Write report part 4", "Write report part 2", "Write report part 0"]);
    let other_sort = call(&app, Method::GET, &format!("/api/v1/tasks?sort=title&cursor={}", {
        let p = call(&app, Method::GET, "/api/v1/tasks?limit=1", t, None).await;
        p.body["next_cursor"].as_str().unwrap().to_owned()
    }), t, None).await;
    assert_error(&other_sort, StatusCode::UNPROCESSABLE_ENTITY, "invalid_cursor", Some("cursor"));
    let milk = call(&app, Method::GET, "/api/v1/tasks?has_due=false", t, None).await.body["items"][0].clone();
    let id = milk["id"].as_str().unwrap();
    let done = call(&app, Method::POST, &format!("/api/v1/tasks/{id}/complete"), t, None).await;
    assert_eq!(done.body["status"], "completed");
    let reopened = call(&app, Method::POST, &format!("/api/v1/tasks/{id}/reopen"), t, None).await;
    assert_eq!(reopened.body["status"], "open");
    let patched = call(&app, Method::PATCH, &format!("/api/v1/tasks/{id}"), t, Some(json!({"due": "2026-06-10", "priority": "urgent"}))).await;
    assert_eq!((patched.body["due"]["date"].as_str(), patched.body["due"]["all_day"].as_bool()), (Some("2026-06-10"), Some(true)));
    let cleared = call(&app, Method::PATCH, &format!("/api/v1/tasks/{id}"), t, Some(json!({"due": null}))).await;
    assert!(cleared.body["due"].is_null());
    assert_eq!(call(&app, Method::DELETE, &format!("/api/v1/tasks/{id}"), t, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(call(&app, Method::GET, &format!("/api/v1/tasks/{id}"), t, None).await.status, StatusCode::NOT_FOUND);
});

http_test!(
    /// Health, readiness, Prometheus metrics by route template and status, and request ids.
    operability, |app| {
    assert_eq!(raw(&app, Method::GET, "/healthz", None, None).await.status, StatusCode::OK);
    assert_eq!(raw(&app, Method::GET, "/readyz", None, None).await.status, StatusCode::OK);
    let t = signup(&app, "ada@example.com", "UTC").await;
    let created = call(&app, Method::POST, "/api/v1/tasks", Some(&t), Some(json!({"title": "x"}))).await;
    let id = created.body["id"].as_str().unwrap();
    call(&app, Method::GET, &format!("/api/v1/tasks/{id}"), Some(&t), None).await;
    assert!(created.headers.contains_key("x-request-id"), "every response carries a request id");
    let req = Request::get("/healthz").header("x-request-id", "trace-me-123").body(Body::empty()).unwrap();
    assert_eq!(app.clone().oneshot(req).await.unwrap().headers()["x-request-id"], "trace-me-123");
    let metrics = raw(&app, Method::GET, "/metrics", None, None).await.body;
    let text = metrics.as_str().unwrap();
    assert!(text.contains(r#"http_requests_total{method="POST",route="/api/v1/tasks",status="201"}"#), "{text}");
    assert!(text.contains(r#"route="/api/v1/tasks/{id}""#), "routes are templates, not raw paths");
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(text.contains("db_pool_connections"));
    assert!(text.contains("outbox_pending_events"));
});
