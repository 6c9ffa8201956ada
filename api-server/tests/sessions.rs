//! Ending sessions and limiting login attempts, on SQLite and PostgreSQL.

use crate::common::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

async fn login(app: &axum::Router, email: &str, password: &str) -> Reply {
    call(
        app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

http_test!(
    /// Logging out everywhere ends every login session of the account (and hands this device a new one);
    /// changing the password does the same after checking the current one; access tokens are unaffected
    /// and cannot do either.
    sessions_end, |app| {
    let first = signup(&app, "ada@example.com", "UTC").await;
    let second = login(&app, "ada@example.com", "password123").await.body["token"].as_str().unwrap().to_owned();
    let token = call(&app, Method::POST, "/api/v1/tokens", Some(&first), Some(json!({"name": "script", "scope": "read-write"}))).await;
    let script = token.body["secret"].as_str().unwrap().to_owned();
    let me = |t: String| { let app = app.clone(); async move { call(&app, Method::GET, "/api/v1/me", Some(&t), None).await.status } };

    let r = call(&app, Method::POST, "/api/v1/auth/logout-everywhere", Some(&script), None).await;
    assert_error(&r, StatusCode::FORBIDDEN, "session_required", None);
    let r = call(&app, Method::POST, "/api/v1/auth/logout-everywhere", Some(&first), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let third = r.body["token"].as_str().unwrap().to_owned();
    let ended = call(&app, Method::GET, "/api/v1/me", Some(&first), None).await;
    assert_error(&ended, StatusCode::UNAUTHORIZED, "unauthorized", None);
    assert!(ended.body["error"]["message"].as_str().unwrap().contains("ended"), "{}", ended.body);
    assert_eq!(me(second.clone()).await, StatusCode::UNAUTHORIZED, "every session, not only the caller's");
    assert_eq!(me(third.clone()).await, StatusCode::OK);
    assert_eq!(me(script.clone()).await, StatusCode::OK, "access tokens stay");

    for (body, code, field) in [
        (json!({"current_password": "wrong-one", "new_password": "a-new-password"}), "wrong_password", "current_password"),
        (json!({"current_password": "password123", "new_password": "short"}), "too_short", "new_password"),
    ] {
        let r = call(&app, Method::POST, "/api/v1/auth/password", Some(&third), Some(body)).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, code, Some(field));
    }
    let r = call(&app, Method::POST, "/api/v1/auth/password", Some(&third),
        Some(json!({"current_password": "password123", "new_password": "a-new-password"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let fourth = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(me(third).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(fourth).await, StatusCode::OK);
    assert_eq!(login(&app, "ada@example.com", "password123").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&app, "ada@example.com", "a-new-password").await.status, StatusCode::OK);
});

http_test!(
    /// After five wrong passwords an account refuses logins, even the right one, with 429 and Retry-After;
    /// other accounts are unaffected.
    login_attempts_are_limited, |app| {
    signup(&app, "bob@example.com", "UTC").await;
    signup(&app, "eve@example.com", "UTC").await;
    for _ in 0..5 {
        assert_eq!(login(&app, "bob@example.com", "guess-guess").await.status, StatusCode::UNAUTHORIZED);
    }
    let r = login(&app, "Bob@example.com", "password123").await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", None);
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&wait), "{wait}");
    assert_eq!(login(&app, "eve@example.com", "password123").await.status, StatusCode::OK);
});

http_test!(
    /// Replicas share one budget: failures made through one API process count in another on the same
    /// database, and a success through either clears the account.
    replicas_share_the_login_limit, |first, store| {
    let second = app(store.clone());
    signup(&first, "ada@example.com", "UTC").await;
    for replica in [&first, &second, &first, &second] {
        assert_eq!(login(replica, "ada@example.com", "guess-guess").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&second, "ada@example.com", "password123").await.status, StatusCode::OK, "four failures block nothing");
    for replica in [&first, &second, &first, &second, &first] {
        assert_eq!(login(replica, "ada@example.com", "guess-guess").await.status, StatusCode::UNAUTHORIZED);
    }
    let r = login(&second, "ada@example.com", "password123").await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", None);
});

/// Behind a trusted proxy, failed logins count against the client its `X-Forwarded-For` names: twenty
/// from one client block that client, not the next one behind the same proxy. Not trusted, the proxy's
/// header changes nothing and every client behind it shares one budget. Over a real socket, whose peer
/// (127.0.0.1) plays the proxy.
#[tokio::test]
async fn the_address_limit_counts_clients_behind_a_trusted_proxy() {
    let db = todo_core::testing::TestDb::sqlite().await;
    for (trusted, apart) in [("127.0.0.0/8", true), ("", false)] {
        let base = serve(app_with(db.store.clone(), &["--trusted-proxies", trusted])).await;
        let http = reqwest::Client::new();
        let attempt = |from: &'static str, n: u32| {
            http.post(format!("{base}/api/v1/auth/login"))
                .header("x-forwarded-for", format!("203.0.113.1, {from}"))
                .json(&json!({"email": format!("user{n}@example.com"), "password": "guess-guess"}))
                .send()
        };
        for n in 0..20 {
            assert_eq!(
                attempt("198.51.100.7", n).await.unwrap().status(),
                StatusCode::UNAUTHORIZED
            );
        }
        let blocked = attempt("198.51.100.7", 20).await.unwrap();
        assert_eq!(
            blocked.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "trusted {trusted:?}"
        );
        let next = attempt("198.51.100.8", 21).await.unwrap().status();
        let expected = if apart {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(
            next, expected,
            "another client behind the proxy, trusted {trusted:?}"
        );
    }
    db.cleanup().await;
}
