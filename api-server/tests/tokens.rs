//! Personal access tokens over HTTP, on SQLite and PostgreSQL: created, listed and revoked with a login
//! session; accepted as a bearer by the REST API, the event stream and MCP; a read-only token only reads.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use todo_core::store::AccessTokenInput;
use tower::ServiceExt;

async fn create(app: &axum::Router, session: &str, body: Value) -> Value {
    let r = call(
        app,
        Method::POST,
        "/api/v1/tokens",
        Some(session),
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

fn secret(created: &Value) -> String {
    created["secret"].as_str().unwrap().to_owned()
}

/// The event stream's status and content type (its body never ends, so it is not read).
async fn stream_status(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let req = Request::get(uri).body(Body::empty()).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (resp.status(), kind)
}

async fn mcp(app: &axum::Router, token: &str, id: i64, method: &str, params: Value) -> Value {
    let r = call(
        app,
        Method::POST,
        "/mcp",
        Some(token),
        Some(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

http_test!(
    /// A read token reads everywhere a session does (REST, the event stream, MCP) and is refused every
    /// change with 403 `read_only_token`; a read-write token changes things; uses are recorded.
    tokens_as_bearer, |app| {
    let session = signup(&app, "ada@example.com", "UTC").await;
    call(&app, Method::POST, "/api/v1/tasks", Some(&session), Some(json!({"title": "from the session"}))).await;
    let reader = create(&app, &session, json!({"name": "dashboard", "scope": "read"})).await;
    assert_eq!((reader["name"].as_str(), reader["scope"].as_str(), &reader["expires_at"], &reader["last_used_at"]),
        (Some("dashboard"), Some("read"), &Value::Null, &Value::Null));
    let read = secret(&reader);
    assert!(read.starts_with("tp_"), "{read}");

    let me = call(&app, Method::GET, "/api/v1/me", Some(&read), None).await;
    assert_eq!(me.body["email"], "ada@example.com");
    let tasks = call(&app, Method::GET, "/api/v1/tasks", Some(&read), None).await;
    assert_eq!(tasks.status, StatusCode::OK);
    assert_eq!(tasks.body["items"][0]["title"], "from the session");
    let id = tasks.body["items"][0]["id"].as_str().unwrap().to_owned();
    for (method, uri, body) in [
        (Method::POST, "/api/v1/tasks".to_owned(), Some(json!({"title": "nope"}))),
        (Method::PATCH, format!("/api/v1/tasks/{id}"), Some(json!({"title": "nope"}))),
        (Method::POST, format!("/api/v1/tasks/{id}/complete"), None),
        (Method::DELETE, format!("/api/v1/tasks/{id}"), None),
        (Method::PATCH, "/api/v1/me".to_owned(), Some(json!({"display_name": "nope"}))),
        (Method::POST, "/api/v1/tags".to_owned(), Some(json!({"name": "nope"}))),
    ] {
        let r = call(&app, method.clone(), &uri, Some(&read), body).await;
        assert_error(&r, StatusCode::FORBIDDEN, "read_only_token", None);
    }
    let after = call(&app, Method::GET, "/api/v1/tasks", Some(&session), None).await;
    assert_eq!(after.body["items"].as_array().unwrap().len(), 1, "no refused change happened");
    assert_eq!(after.body["items"][0]["title"], "from the session");

    // POSTs that only compute are reads, as their MCP tools are.
    let parsed = call(&app, Method::POST, "/api/v1/tasks/parse", Some(&read), Some(json!({"text": "Call mom tomorrow 5pm #family"}))).await;
    assert_eq!((parsed.status, &parsed.body["title"]), (StatusCode::OK, &json!("Call mom")), "{}", parsed.body);
    let preview = call(&app, Method::POST, "/api/v1/recurrence/preview", Some(&read),
        Some(json!({"due": "2026-03-02T09:00", "recurrence": {"frequency": "weekly"}, "limit": 2}))).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);

    assert_eq!(stream_status(&app, &format!("/api/v1/events?access_token={read}")).await, (StatusCode::OK, "text/event-stream".to_owned()));

    let tools = mcp(&app, &read, 1, "tools/list", json!({})).await;
    let names: Vec<&str> = tools["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["list_tasks", "parse_task", "list_deliveries", "alerts", "today", "upcoming", "list_projects", "list_tags", "notification_settings"]);
    let listed = mcp(&app, &read, 2, "tools/call", json!({"name": "list_tasks", "arguments": {}})).await;
    assert_eq!(listed["result"]["structuredContent"]["items"][0]["title"], "from the session");
    let refused = mcp(&app, &read, 3, "tools/call", json!({"name": "create_task", "arguments": {"title": "nope"}})).await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    assert!(refused["result"]["content"][0]["text"].as_str().unwrap().starts_with("read_only_token:"), "{refused}");

    let write = secret(&create(&app, &session, json!({"name": "mcp", "scope": "read-write", "expires_in_days": 30})).await);
    let made = call(&app, Method::POST, "/api/v1/tasks", Some(&write), Some(json!({"title": "from a token"}))).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let all_tools = mcp(&app, &write, 4, "tools/list", json!({})).await;
    let session_tools = mcp(&app, &session, 4, "tools/list", json!({})).await;
    assert_eq!(all_tools["result"]["tools"], session_tools["result"]["tools"], "a read-write token has every tool");
    let via_mcp = mcp(&app, &write, 5, "tools/call", json!({"name": "create_task", "arguments": {"title": "from mcp"}})).await;
    assert_eq!(via_mcp["result"]["isError"], false, "{via_mcp}");

    let listed = call(&app, Method::GET, "/api/v1/tokens", Some(&session), None).await;
    let used: Vec<bool> = listed.body.as_array().unwrap().iter().map(|t| t["last_used_at"].is_string()).collect();
    assert_eq!(used, [true, true], "{}", listed.body);
});

http_test!(
    /// Tokens are managed with a login session only; the list never shows a secret; another user can
    /// neither see nor revoke them; a revoked token is refused at once.
    managing_tokens, |app| {
    let ada = signup(&app, "ada@example.com", "UTC").await;
    let bob = signup(&app, "bob@example.com", "UTC").await;
    let created = create(&app, &ada, json!({"name": "laptop", "scope": "read-write"})).await;
    let token = secret(&created);
    let id = created["id"].as_str().unwrap().to_owned();

    for (method, uri, body) in [
        (Method::POST, "/api/v1/tokens".to_owned(), Some(json!({"name": "more", "scope": "read-write"}))),
        (Method::GET, "/api/v1/tokens".to_owned(), None),
        (Method::DELETE, format!("/api/v1/tokens/{id}"), None),
    ] {
        let r = call(&app, method, &uri, Some(&token), body).await;
        assert_error(&r, StatusCode::FORBIDDEN, "session_required", None);
    }

    let listed = call(&app, Method::GET, "/api/v1/tokens", Some(&ada), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body.as_array().unwrap().len(), 1, "the token minted nothing: {}", listed.body);
    let keys: Vec<&str> = listed.body[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["created_at", "expires_at", "id", "last_used_at", "name", "scope"]);
    assert!(!listed.body.to_string().contains(&token[3..]), "no secret in the list");

    assert_eq!(call(&app, Method::GET, "/api/v1/tokens", Some(&bob), None).await.body, json!([]));
    let foreign = call(&app, Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&bob), None).await;
    assert_error(&foreign, StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(call(&app, Method::GET, "/api/v1/me", Some(&token), None).await.status, StatusCode::OK, "bob revoked nothing");

    let revoked = call(&app, Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&ada), None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let refused = call(&app, Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_error(&refused, StatusCode::UNAUTHORIZED, "unauthorized", None);
    assert_eq!(refused.headers["www-authenticate"], "Bearer");
    assert_eq!(stream_status(&app, &format!("/api/v1/events?access_token={token}")).await.0, StatusCode::UNAUTHORIZED);
    let mcp_refused = call(&app, Method::POST, "/mcp", Some(&token), Some(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))).await;
    assert_error(&mcp_refused, StatusCode::UNAUTHORIZED, "unauthorized", None);
    let again = call(&app, Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&ada), None).await;
    assert_error(&again, StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(call(&app, Method::GET, "/api/v1/tokens", Some(&ada), None).await.body, json!([]));
    let unknown = call(&app, Method::GET, "/api/v1/me", Some("tp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), None).await;
    assert_error(&unknown, StatusCode::UNAUTHORIZED, "unauthorized", None);
});

http_test!(
    /// Bad input is a 4xx naming the field: values out of range are 422, malformed JSON 400.
    token_input_errors, |app| {
    let ada = signup(&app, "ada@example.com", "UTC").await;
    for (body, code, field) in [
        (json!({"name": "", "scope": "read"}), "required", "name"),
        (json!({"name": "   ", "scope": "read"}), "required", "name"),
        (json!({"name": "x".repeat(101), "scope": "read"}), "too_long", "name"),
        (json!({"name": "ci", "scope": "admin"}), "invalid_scope", "scope"),
        (json!({"name": "ci", "scope": "read", "expires_in_days": 0}), "out_of_range", "expires_in_days"),
        (json!({"name": "ci", "scope": "read", "expires_in_days": 366}), "out_of_range", "expires_in_days"),
        (json!({"name": "ci", "scope": "read", "expires_in_days": -5}), "out_of_range", "expires_in_days"),
    ] {
        let r = call(&app, Method::POST, "/api/v1/tokens", Some(&ada), Some(body)).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, code, Some(field));
    }
    for (body, code, field) in [
        (json!({"name": "ci"}), "required", "scope"),
        (json!({"name": "ci", "scope": "read", "secret": "mine"}), "unknown_field", "secret"),
        (json!({"name": "ci", "scope": "read", "expires_in_days": "7"}), "invalid_type", "expires_in_days"),
    ] {
        let r = call(&app, Method::POST, "/api/v1/tokens", Some(&ada), Some(body)).await;
        assert_error(&r, StatusCode::BAD_REQUEST, code, Some(field));
    }
    let anon = call(&app, Method::POST, "/api/v1/tokens", None, Some(json!({"name": "ci", "scope": "read"}))).await;
    assert_error(&anon, StatusCode::UNAUTHORIZED, "unauthorized", None);
    assert_eq!(call(&app, Method::GET, "/api/v1/tokens", Some(&ada), None).await.body, json!([]), "nothing was created");
    let longest = create(&app, &ada, json!({"name": "ci", "scope": "read", "expires_in_days": 365})).await;
    let expires: Timestamp = longest["expires_at"].as_str().unwrap().parse().unwrap();
    let created: Timestamp = longest["created_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires.duration_since(created), SignedDuration::from_hours(365 * 24));
});

http_test!(
    /// An expired token is refused with 401, and still listed (with its expiry) until revoked.
    expired_token, |app, store| {
    let session = signup(&app, "ada@example.com", "UTC").await;
    let me = call(&app, Method::GET, "/api/v1/me", Some(&session), None).await;
    let ada = store.owner(me.body["id"].as_str().unwrap().parse().unwrap()).await.unwrap();
    let two_days_ago = Timestamp::now() - SignedDuration::from_hours(48);
    let input = AccessTokenInput { name: "old".into(), scope: "read-write".into(), expires_in_days: Some(1) };
    let old = store.create_access_token(&ada, input, two_days_ago).await.unwrap();
    let r = call(&app, Method::GET, "/api/v1/me", Some(&old.secret), None).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized", None);
    assert_eq!(r.body["error"]["message"], "access token expired");
    assert_eq!(stream_status(&app, &format!("/api/v1/events?access_token={}", old.secret)).await.0, StatusCode::UNAUTHORIZED);
    let listed = call(&app, Method::GET, "/api/v1/tokens", Some(&session), None).await;
    assert_eq!(listed.body[0]["id"], old.token.id.to_string());
    assert_eq!(listed.body[0]["last_used_at"], Value::Null, "a refused use is not recorded");
});

/// Whether `body`'s stream ends within `within` (frames before the end, keep-alives, are read and skipped).
async fn ends_within(body: &mut Body, within: std::time::Duration) -> bool {
    use http_body_util::BodyExt;
    tokio::time::timeout(within, async {
        while let Some(frame) = body.frame().await {
            frame.unwrap();
        }
    })
    .await
    .is_ok()
}

http_test!(
    /// An open event stream does not outlive its credential: revoking the access token it was opened with
    /// ends it at the next check (every second here), while the session's stream stays open; logging out
    /// everywhere then ends the session's.
    open_streams_end_with_their_credential, |app| {
    let ada = signup(&app, "ada@example.com", "UTC").await;
    let created = create(&app, &ada, json!({"name": "wall display", "scope": "read"})).await;
    let token = secret(&created);
    let open = |t: String| {
        let app = app.clone();
        async move {
            let resp = app.oneshot(Request::get("/api/v1/events").header("authorization", format!("Bearer {t}")).body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.into_body()
        }
    };
    let mut by_token = open(token.clone()).await;
    let mut by_session = open(ada.clone()).await;

    let id = created["id"].as_str().unwrap();
    let revoked = call(&app, Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&ada), None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert!(ends_within(&mut by_token, std::time::Duration::from_secs(20)).await, "the revoked token's stream ended");
    assert!(!ends_within(&mut by_session, std::time::Duration::from_millis(2500)).await, "the session's stream outlived two checks");

    let r = call(&app, Method::POST, "/api/v1/auth/logout-everywhere", Some(&ada), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(ends_within(&mut by_session, std::time::Duration::from_secs(20)).await, "the ended session's stream ended");
});
