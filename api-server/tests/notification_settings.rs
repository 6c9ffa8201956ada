//! Notification settings and personal webhooks over HTTP, on SQLite and PostgreSQL: email settings,
//! webhooks created with a secret shown once (and at rotation), never listed; a test send to a real
//! receiver, signed with the webhook's secret and kept as its last test; private addresses refused unless
//! the platform allows them; another user's webhook is a 404 on every route; a read-only token reads only.

use crate::common::*;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use todo_core::Store;

/// The API as dev mode and tests run it: personal webhooks may reach this machine.
fn app_allowing_private(store: Store) -> Router {
    app_with(store, &["--webhook-allow-private", "true"])
}

type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A webhook receiver on 127.0.0.1 answering `status`; returns its URL and what it received.
async fn receiver(status: StatusCode) -> (String, Received) {
    let received: Received = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                move |State(r): State<Received>, headers: HeaderMap, body: Bytes| async move {
                    r.lock()
                        .unwrap()
                        .push((headers, String::from_utf8_lossy(&body).into_owned()));
                    status
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

async fn create_hook(app: &Router, token: &str, body: Value) -> Value {
    let r = call(
        app,
        Method::POST,
        "/api/v1/webhooks",
        Some(token),
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

http_test!(
    /// Email on and to the account's address by default; an address of one's own, validated; email off.
    email_settings, |app| {
    let ada = signup(&app, "ada@example.com", "UTC").await;
    let path = "/api/v1/notifications/settings";
    let r = call(&app, Method::GET, path, Some(&ada), None).await;
    assert_eq!(r.body, json!({"email_enabled": true, "email_address": "ada@example.com", "email_is_account_email": true}));
    let r = call(&app, Method::PUT, path, Some(&ada), Some(json!({"email_enabled": false, "email_address": "Ada@Home.Example"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"email_enabled": false, "email_address": "ada@home.example", "email_is_account_email": false}));
    assert_eq!(call(&app, Method::GET, path, Some(&ada), None).await.body, r.body);

    let r = call(&app, Method::PUT, path, Some(&ada), Some(json!({"email_enabled": true, "email_address": "nope"}))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_email", Some("email_address"));
    let r = call(&app, Method::PUT, path, Some(&ada), Some(json!({"email_address": null}))).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "required", Some("email_enabled"));
    let r = call(&app, Method::PUT, path, Some(&ada), Some(json!({"email_enabled": true, "sms": true}))).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "unknown_field", Some("sms"));

    let bob = signup(&app, "bob@example.com", "UTC").await;
    assert_eq!(call(&app, Method::GET, path, Some(&bob), None).await.body["email_address"], "bob@example.com", "Ada's change is hers");
    assert_error(&call(&app, Method::GET, path, None, None).await, StatusCode::UNAUTHORIZED, "unauthorized", None);
});

http_test!(
    /// A webhook's secret is in the creation's answer and the rotation's, never in a listing or a read.
    /// A test send reaches a real receiver signed with the current secret and is kept as the webhook's
    /// last test; a receiver's error status is reported, not raised. Patch, delete, the limit, and bad
    /// input naming its field.
    webhooks_secret_shown_once_and_test_send, |_default_app, store| {
    let app = app_allowing_private(store);
    let ada = signup(&app, "ada@example.com", "UTC").await;
    let (url, received) = receiver(StatusCode::NO_CONTENT).await;
    let created = create_hook(&app, &ada, json!({"name": "Automation", "url": url})).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!((created["name"].as_str(), created["url"].as_str(), created["enabled"].as_bool()), (Some("Automation"), Some(url.as_str()), Some(true)));
    assert_eq!(created["deliveries"], json!({"sent": 0, "pending": 0, "failed": 0, "latest": null}));
    assert_eq!(created["last_test"], Value::Null);

    let list = call(&app, Method::GET, "/api/v1/webhooks", Some(&ada), None).await;
    let one = call(&app, Method::GET, &format!("/api/v1/webhooks/{id}"), Some(&ada), None).await;
    for body in [&list.body, &one.body] {
        assert!(!body.to_string().contains(&secret), "{body}");
        assert!(!body.to_string().contains("secret"), "{body}");
    }
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0], one.body);
    let mcp = call(&app, Method::POST, "/mcp", Some(&ada), Some(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "notification_settings", "arguments": {}}}))).await;
    let overview = &mcp.body["result"]["structuredContent"];
    assert_eq!((&overview["webhooks"][0], overview["email"]["email_enabled"].as_bool()), (&one.body, Some(true)), "{}", mcp.body);
    assert!(!mcp.body.to_string().contains(&secret), "MCP never shows the secret");

    let r = call(&app, Method::POST, &format!("/api/v1/webhooks/{id}/test"), Some(&ada), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.body["ok"].as_bool(), r.body["status_code"].as_u64(), &r.body["error"]), (Some(true), Some(204), &Value::Null));
    let (headers, body) = received.lock().unwrap()[0].clone();
    let ts: i64 = headers["x-todo-timestamp"].to_str().unwrap().parse().unwrap();
    assert_eq!(headers["x-todo-signature"].to_str().unwrap(), todo_worker::webhook::signature(&secret, ts, &body));
    let event: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((event["type"].as_str(), event["data"]["webhook_id"].as_str()), (Some("todo.webhook.test.v1"), Some(id.as_str())));
    assert_eq!(headers["x-todo-event-id"].to_str().unwrap(), event["id"].as_str().unwrap());
    let one = call(&app, Method::GET, &format!("/api/v1/webhooks/{id}"), Some(&ada), None).await;
    assert_eq!(one.body["last_test"], r.body, "kept as the last test");

    let rotated = call(&app, Method::POST, &format!("/api/v1/webhooks/{id}/rotate-secret"), Some(&ada), None).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new_secret = rotated.body["secret"].as_str().unwrap().to_owned();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    call(&app, Method::POST, &format!("/api/v1/webhooks/{id}/test"), Some(&ada), None).await;
    let (headers, body) = received.lock().unwrap()[1].clone();
    let ts: i64 = headers["x-todo-timestamp"].to_str().unwrap().parse().unwrap();
    assert_eq!(headers["x-todo-signature"].to_str().unwrap(), todo_worker::webhook::signature(&new_secret, ts, &body), "signed with the new secret");

    let (failing_url, _) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    let r = call(&app, Method::PATCH, &format!("/api/v1/webhooks/{id}"), Some(&ada), Some(json!({"url": failing_url, "enabled": false, "name": "Broken"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.body["url"].as_str(), r.body["enabled"].as_bool(), r.body["name"].as_str()), (Some(failing_url.as_str()), Some(false), Some("Broken")));
    let r = call(&app, Method::POST, &format!("/api/v1/webhooks/{id}/test"), Some(&ada), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.body["ok"].as_bool(), r.body["status_code"].as_u64(), r.body["error"].as_str()), (Some(false), Some(500), Some("webhook answered HTTP 500")));
    let r = call(&app, Method::PATCH, &format!("/api/v1/webhooks/{id}"), Some(&ada), Some(json!({"url": "http://127.0.0.1:9/nothing-listens"}))).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call(&app, Method::POST, &format!("/api/v1/webhooks/{id}/test"), Some(&ada), None).await;
    assert_eq!((r.body["ok"].as_bool(), &r.body["status_code"]), (Some(false), &Value::Null));
    let error = r.body["error"].as_str().unwrap();
    assert!(!error.contains("nothing-listens"), "the reason leaves the URL out: {error}");

    for (body, code, field) in [
        (json!({"url": "ftp://example.com"}), "invalid_url", "url"),
        (json!({"url": ""}), "required", "url"),
        (json!({"url": "https://example.com", "name": " "}), "required", "name"),
    ] {
        let r = call(&app, Method::POST, "/api/v1/webhooks", Some(&ada), Some(body)).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, code, Some(field));
    }
    let r = call(&app, Method::POST, "/api/v1/webhooks", Some(&ada), Some(json!({"url": "https://example.com", "secret": "mine"}))).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "unknown_field", Some("secret"));
    for i in 1..10 {
        create_hook(&app, &ada, json!({"url": format!("https://example.com/{i}")})).await;
    }
    let r = call(&app, Method::POST, "/api/v1/webhooks", Some(&ada), Some(json!({"url": "https://example.com/11"}))).await;
    assert_error(&r, StatusCode::CONFLICT, "too_many_webhooks", Some("url"));

    let r = call(&app, Method::DELETE, &format!("/api/v1/webhooks/{id}"), Some(&ada), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = call(&app, Method::GET, &format!("/api/v1/webhooks/{id}"), Some(&ada), None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found", None);
});

http_test!(
    /// Without the platform's leave, a test send to a loopback, private or link-local address is refused
    /// before anything is sent, and the reason says so.
    private_addresses_refused_by_default, |app| {
    let ada = signup(&app, "ada@example.com", "UTC").await;
    let (url, received) = receiver(StatusCode::OK).await;
    let local_name = url.replace("127.0.0.1", "localhost");
    for target in [url.as_str(), local_name.as_str(), "http://169.254.169.254/latest/meta-data", "http://[::1]:9/"] {
        let id = create_hook(&app, &ada, json!({"url": target})).await["id"].as_str().unwrap().to_owned();
        let r = call(&app, Method::POST, &format!("/api/v1/webhooks/{id}/test"), Some(&ada), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["ok"], false, "{target}");
        assert!(r.body["error"].as_str().unwrap().contains("public addresses only"), "{target}: {}", r.body);
    }
    assert!(received.lock().unwrap().is_empty(), "nothing reached the receiver");
});

http_test!(
    /// Another user's webhook id is a 404 on every route and changes nothing; a read-only token may read
    /// settings and webhooks but not change them (403), a read-write token may.
    isolation_and_token_scopes, |app| {
    let ada = signup(&app, "ada@example.com", "UTC").await;
    let bob = signup(&app, "bob@example.com", "UTC").await;
    let created = create_hook(&app, &ada, json!({"url": "https://example.com/ada"})).await;
    let id = created["id"].as_str().unwrap();
    let routes = [
        (Method::GET, format!("/api/v1/webhooks/{id}"), None),
        (Method::PATCH, format!("/api/v1/webhooks/{id}"), Some(json!({"enabled": false}))),
        (Method::POST, format!("/api/v1/webhooks/{id}/test"), None),
        (Method::POST, format!("/api/v1/webhooks/{id}/rotate-secret"), None),
        (Method::DELETE, format!("/api/v1/webhooks/{id}"), None),
    ];
    for (method, path, body) in &routes {
        let r = call(&app, method.clone(), path, Some(&bob), body.clone()).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found", None);
    }
    assert_eq!(call(&app, Method::GET, "/api/v1/webhooks", Some(&bob), None).await.body, json!([]));
    let mine = call(&app, Method::GET, &format!("/api/v1/webhooks/{id}"), Some(&ada), None).await;
    assert_eq!((mine.body["enabled"].as_bool(), &mine.body["last_test"]), (Some(true), &Value::Null), "untouched");

    let token = |scope: &str| {
        let app = app.clone();
        let ada = ada.clone();
        let scope = scope.to_owned();
        async move {
            let r = call(&app, Method::POST, "/api/v1/tokens", Some(&ada), Some(json!({"name": scope, "scope": scope}))).await;
            r.body["secret"].as_str().unwrap().to_owned()
        }
    };
    let reader = token("read").await;
    assert_eq!(call(&app, Method::GET, "/api/v1/webhooks", Some(&reader), None).await.status, StatusCode::OK);
    assert_eq!(call(&app, Method::GET, "/api/v1/notifications/settings", Some(&reader), None).await.status, StatusCode::OK);
    let writes = [
        (Method::PUT, "/api/v1/notifications/settings".to_owned(), Some(json!({"email_enabled": false}))),
        (Method::POST, "/api/v1/webhooks".to_owned(), Some(json!({"url": "https://example.com/r"}))),
    ];
    for (method, path, body) in writes.iter().chain(&routes[1..]) {
        let r = call(&app, method.clone(), path, Some(&reader), body.clone()).await;
        assert_error(&r, StatusCode::FORBIDDEN, "read_only_token", None);
    }
    let writer = token("read-write").await;
    let r = call(&app, Method::PUT, "/api/v1/notifications/settings", Some(&writer), Some(json!({"email_enabled": false}))).await;
    assert_eq!((r.status, r.body["email_enabled"].as_bool()), (StatusCode::OK, Some(false)));
    create_hook(&app, &writer, json!({"url": "https://example.com/w"})).await;
});
