//! The committed OpenAPI document is exactly what the code generates.

/// Regenerate with `cargo run -p todo-api -- openapi > api-server/openapi.json` when this fails.
#[test]
fn committed_openapi_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let committed = std::fs::read_to_string(path).expect("api-server/openapi.json is committed");
    let generated = todo_api::app::openapi_json();
    assert!(
        committed == generated,
        "api-server/openapi.json is stale: run `cargo run -p todo-api -- openapi > api-server/openapi.json`"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/tasks",
        "/api/v1/tasks/{id}",
        "/api/v1/tags",
        "/api/v1/auth/signup",
        "/api/v1/tasks/{id}/reminders",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
}
