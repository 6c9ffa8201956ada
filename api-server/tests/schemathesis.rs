//! Property-based API fuzzing with schemathesis against the real binary: no 5xx, every response matches
//! the OpenAPI document (status codes, content types, schemas), and the server logs no error.

use crate::common::free_port;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn tool_missing(what: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("CI requires {what}");
    }
    eprintln!("SKIPPED: {what} is not installed (pip install schemathesis)");
    true
}

/// Fuzz every operation (fuzzing and stateful phases) for `TODO_SCHEMATHESIS_SECONDS` (default 120).
#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_errors_or_schema_violations() {
    if Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_err()
        && tool_missing("schemathesis")
    {
        return;
    }
    let dir = todo_core::testing::TempDir::new("todo-st");
    // PostgreSQL when reachable (it rejects inputs SQLite tolerates, e.g. NUL bytes), else SQLite.
    let pg = todo_core::testing::TestDb::postgres().await;
    let database_url = pg
        .as_ref()
        .map(|db| db.url.clone())
        .unwrap_or_else(|| format!("sqlite://{}", dir.0.join("st.db").display()));
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.0.join("server.log")).unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .env("TODO_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &database_url)
        .env("TODO_JWT_SECRET", "schemathesis")
        .env("TODO_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("todo-api starts");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "todo-api did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let signup: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&serde_json::json!({"email": "fuzz@example.com", "password": "password123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["token"].as_str().expect("token");
    let seconds = std::env::var("TODO_SCHEMATHESIS_SECONDS").unwrap_or_else(|_| "120".into());
    let status = Command::new("schemathesis")
        .args(["run", &format!("{base}/openapi.json")])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"])
        // The coverage phase currently crashes inside schemathesis itself (a Python AST recursion error);
        // fuzzing and stateful phases exercise every operation.
        .args(["--phases", "examples,fuzzing,stateful"])
        // An event stream never ends, so it cannot be checked by a request/response fuzzer.
        .args(["--exclude-path", "/api/v1/events"])
        // These end every session of the account, the fuzzer's own too, by design: everything after would be
        // a 401. The sessions tests cover them.
        .args(["--exclude-path", "/api/v1/auth/logout-everywhere"])
        .args(["--exclude-path", "/api/v1/auth/password"])
        .args(["--max-time", &seconds, "--workers", "2", "--warnings", "off"])
        .stdin(Stdio::null())
        .status()
        .expect("schemathesis runs");
    let _ = server.kill();
    let _ = server.wait();
    if let Some(db) = pg {
        db.cleanup().await;
    }
    let server_log = std::fs::read_to_string(dir.0.join("server.log")).unwrap_or_default();
    assert!(
        status.success(),
        "schemathesis found failures (see output above)"
    );
    let errors: Vec<&str> = server_log
        .lines()
        .filter(|l| l.contains("\"level\":\"ERROR\""))
        .collect();
    assert!(
        errors.is_empty(),
        "the server logged errors during fuzzing:\n{}",
        errors.join("\n")
    );
}
