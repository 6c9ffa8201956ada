//! The committed CRD (crds/ and the chart's copy) against the Rust types, and the schema's
//! own rules.

use crate::common;

use std::process::Command;

use todo_operator::crd::TodoPlatform;
use todo_operator::render::{chart_crd_yaml, crd_yaml};

const CRD_FILE: &str = "crds/todoplatforms.todoplatform.dev.yaml";
const CHART_CRD_FILE: &str = "charts/todo-operator/templates/crd.yaml";

/// Compare a generated file with its committed copy; `TODO_UPDATE_GENERATED=1` rewrites it.
fn assert_generated(relative: &str, generated: &str) {
    let path = common::repo_root().join(relative);
    if std::env::var_os("TODO_UPDATE_GENERATED").is_some() {
        std::fs::create_dir_all(path.parent().expect("file has a parent")).expect("mkdir");
        std::fs::write(&path, generated).expect("write generated file");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{relative} is out of date with operator/src/crd.rs; regenerate with \
         `TODO_UPDATE_GENERATED=1 cargo test -p todo-operator --test operator crd::` and commit it"
    );
}

/// crds/ holds exactly what `todo-operator crd` prints.
#[test]
fn committed_crd_matches_the_rust_types() {
    assert_generated(CRD_FILE, &crd_yaml());
}

/// The chart installs the same CRD (wrapped so upgrades update it and uninstall keeps it).
#[test]
fn chart_crd_matches_the_rust_types() {
    assert_generated(CHART_CRD_FILE, &chart_crd_yaml());
}

/// kube-apiserver only accepts structural schemas; check with the shared offline checker.
#[test]
fn crd_schema_is_structural() {
    let checker = common::shared_dir().join("tools/crd_structural.py");
    if !checker.exists() {
        return common::unavailable::<()>("crd_schema_is_structural", "crd_structural.py missing")
            .unwrap_or_default();
    }
    let out = Command::new("python3")
        .arg(&checker)
        .arg(common::repo_root().join(CRD_FILE))
        .output();
    let Ok(out) = out else {
        return common::unavailable::<()>("crd_schema_is_structural", "python3 not found")
            .unwrap_or_default();
    };
    assert!(
        out.status.success(),
        "non-structural CRD:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Names, scope, short name and printer columns DESIGN §2 promises.
#[test]
fn crd_identity_and_printer_columns() {
    let crd = todo_operator::crd::crd();
    assert_eq!(
        crd.metadata.name.as_deref(),
        Some("todoplatforms.todoplatform.dev")
    );
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.names.short_names, Some(vec!["todo".to_owned()]));
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v1alpha1");
    assert!(
        version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some()
    );
    let columns: Vec<&str> = version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(columns, ["Ready", "Reason", "URL", "Age"]);
}

fn named(name: &str, spec: serde_json::Value) -> TodoPlatform {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "todoplatform.dev/v1alpha1",
        "kind": "TodoPlatform",
        "metadata": { "name": name, "namespace": "ns" },
        "spec": spec,
    }))
    .expect("valid TodoPlatform JSON")
}

fn platform(spec: serde_json::Value) -> TodoPlatform {
    named("todo", spec)
}

fn cel_errors_of(platform: &TodoPlatform) -> String {
    match kube::core::cel::validate_cel(platform) {
        Ok(()) => String::new(),
        Err(errors) => format!("{errors:?}"),
    }
}

fn cel_errors(spec: serde_json::Value) -> String {
    cel_errors_of(&platform(spec))
}

/// The same platform through `todo-operator render`: its error, or "" when it renders.
fn render_error(platform: &TodoPlatform) -> String {
    let manifest = serde_yaml::to_string(platform).expect("serializes");
    match todo_operator::render::render(&manifest) {
        Ok(_) => String::new(),
        Err(error) => error.to_string(),
    }
}

fn managed() -> serde_json::Value {
    serde_json::json!({ "database": { "managed": {} }, "eventing": { "managed": {} } })
}

/// `spec` with the field at `pointer` (a JSON pointer, parents created) set to `value`.
fn with(mut spec: serde_json::Value, pointer: &str, value: serde_json::Value) -> serde_json::Value {
    let mut target = &mut spec;
    for segment in pointer.split('/').filter(|s| !s.is_empty()) {
        target = &mut target[segment];
    }
    *target = value;
    spec
}

/// Every CEL rule rejects its table row with a message naming the field, and `render` (the
/// same Rust rules the controller's validate step runs) rejects it with the same message.
#[test]
fn cel_and_render_reject_each_rule_naming_the_field() {
    let external = serde_json::json!({ "brokers": ["k:9092"] });
    let cases: Vec<(&str, TodoPlatform, &str)> = vec![
        (
            "long name",
            named(&"a".repeat(41), managed()),
            "metadata.name",
        ),
        (
            "dotted name",
            named("todo.prod", managed()),
            "metadata.name",
        ),
        (
            "name starting with a digit",
            named("1todo", managed()),
            "metadata.name",
        ),
        (
            "version",
            platform(with(managed(), "/version", "1.0+build".into())),
            "spec.version",
        ),
        (
            "ingress host",
            platform(with(
                managed(),
                "/ingress",
                serde_json::json!({ "host": "Todo_Example.com" }),
            )),
            "spec.ingress.host",
        ),
        (
            "autoscaling bounds",
            platform(with(
                managed(),
                "/api/autoscaling",
                serde_json::json!({ "minReplicas": 5, "maxReplicas": 2 }),
            )),
            "spec.api.autoscaling.minReplicas",
        ),
        (
            "managed replication",
            platform(with(
                managed(),
                "/eventing/topics",
                serde_json::json!({ "replicationFactor": 3 }),
            )),
            "spec.eventing.topics.replicationFactor",
        ),
        (
            "redpanda on the managed broker",
            platform(with(
                managed(),
                "/eventing/topics",
                serde_json::json!({ "provisioner": "RedpandaTopic", "redpandaClusterRef": "rp" }),
            )),
            "spec.eventing.topics.provisioner",
        ),
        (
            "redpanda without cluster",
            platform(with(
                with(
                    managed(),
                    "/eventing",
                    serde_json::json!({ "external": external.clone() }),
                ),
                "/eventing/topics",
                serde_json::json!({ "provisioner": "RedpandaTopic" }),
            )),
            "spec.eventing.topics.redpandaClusterRef",
        ),
        (
            "cluster ref without redpanda",
            platform(with(
                managed(),
                "/eventing/topics",
                serde_json::json!({ "redpandaClusterRef": "rp" }),
            )),
            "spec.eventing.topics.redpandaClusterRef",
        ),
        (
            "delete with external topics",
            platform(with(
                managed(),
                "/eventing/topics",
                serde_json::json!({ "provisioner": "External", "deletionPolicy": "Delete" }),
            )),
            "spec.eventing.topics.deletionPolicy",
        ),
        (
            "PLAIN without TLS",
            platform(with(
                managed(),
                "/eventing",
                serde_json::json!({ "external": {
                    "brokers": ["k:9092"],
                    "sasl": { "mechanism": "PLAIN", "secretName": "kafka" },
                } }),
            )),
            "spec.eventing.external.sasl.mechanism",
        ),
        (
            "two databases",
            platform(with(
                managed(),
                "/database/external",
                serde_json::json!({ "urlSecretRef": { "name": "db", "key": "url" } }),
            )),
            "spec.database",
        ),
        (
            "no eventing",
            platform(with(managed(), "/eventing", serde_json::json!({}))),
            "spec.eventing",
        ),
    ];
    for (case, platform, field) in cases {
        let cel = cel_errors_of(&platform);
        assert!(cel.contains(field), "{case}: CEL said {cel:?}");
        let rendered = render_error(&platform);
        assert!(rendered.contains(field), "{case}: render said {rendered:?}");
        let violations = todo_operator::validation::validate(&platform).unwrap_err();
        assert!(
            violations.iter().any(|v| cel.contains(v.as_str())),
            "{case}: CEL and Rust give the same message: {violations:?} vs {cel}"
        );
    }
}

/// The schema's ranges (enforced by the API server's OpenAPI validation) are enforced by
/// `render` and the validate step too; `render` used to accept negative replicas.
#[test]
fn render_enforces_the_schema_ranges() {
    let cases = [
        ("/api/replicas", serde_json::json!(-1), "spec.api.replicas"),
        (
            "/workers/audit",
            serde_json::json!({ "replicas": -2 }),
            "spec.workers.audit.replicas",
        ),
        (
            "/eventing/topics",
            serde_json::json!({ "partitions": 0 }),
            "spec.eventing.topics.partitions",
        ),
        (
            "/api/minAvailable",
            serde_json::json!(0),
            "spec.api.minAvailable",
        ),
        (
            "/database/maxConnections",
            serde_json::json!(0),
            "spec.database.maxConnections",
        ),
        (
            "/database/managed",
            serde_json::json!({ "storage": "5G" }),
            "spec.database.managed.storage",
        ),
    ];
    for (pointer, value, field) in cases {
        let rendered = render_error(&platform(with(managed(), pointer, value)));
        assert!(rendered.contains(field), "{pointer}: {rendered:?}");
    }
}

/// A trusted proxy that is no address or range is rejected by `render` (and the validate step) naming
/// its index; the CRD's pattern only catches what is not address-shaped at all.
#[test]
fn render_rejects_bad_trusted_proxies() {
    for bad in ["10.0.0.0/33", "10.0.0", "ingress-nginx"] {
        let spec = with(
            managed(),
            "/api/trustedProxies",
            serde_json::json!(["10.0.0.0/8", bad]),
        );
        let rendered = render_error(&platform(spec));
        assert!(
            rendered.contains("spec.api.trustedProxies[1] must be an IP address or CIDR range"),
            "{bad}: {rendered:?}"
        );
    }
    let fine = with(
        managed(),
        "/api/trustedProxies",
        serde_json::json!(["10.0.0.0/8", "2001:db8::/32", "203.0.113.10"]),
    );
    assert_eq!(render_error(&platform(fine)), "");
}

/// A retry duration outside the CRD's pattern is rejected by `render` (the API server rejects it by
/// the same pattern), naming the field.
#[test]
fn render_rejects_bad_retry_durations() {
    for (field, value) in [
        ("initialInterval", "0s"),
        ("maxInterval", "1 hour"),
        ("giveUpAfter", "1d"),
    ] {
        let spec = with(
            managed(),
            &format!("/notifications/retry/{field}"),
            serde_json::json!(value),
        );
        let rendered = render_error(&platform(spec));
        assert!(
            rendered.contains(&format!(
                "spec.notifications.retry.{field} must be a positive duration"
            )),
            "{field}: {rendered:?}"
        );
    }
    let fine = with(
        managed(),
        "/notifications/retry",
        serde_json::json!({ "initialInterval": "5s", "maxInterval": "1h30m", "giveUpAfter": "72h" }),
    );
    assert_eq!(render_error(&platform(fine)), "");
}

/// The longest allowed name passes both enforcers.
#[test]
fn the_longest_name_is_accepted() {
    let platform = named(
        &"a".repeat(todo_operator::validation::MAX_NAME_LENGTH),
        managed(),
    );
    assert_eq!(cel_errors_of(&platform), "");
    assert_eq!(render_error(&platform), "");
}

/// A spec with managed dependencies passes every CEL rule.
#[test]
fn cel_accepts_a_managed_platform() {
    let errors = cel_errors(serde_json::json!({
        "database": { "managed": {} },
        "eventing": { "managed": {} },
    }));
    assert_eq!(errors, "");
}

/// Setting both managed and external database is rejected by the schema, with the message.
#[test]
fn cel_rejects_managed_and_external_database() {
    let errors = cel_errors(serde_json::json!({
        "database": {
            "managed": {},
            "external": { "urlSecretRef": { "name": "db", "key": "url" } },
        },
        "eventing": { "managed": {} },
    }));
    assert!(
        errors.contains("exactly one of spec.database.managed or spec.database.external"),
        "{errors}"
    );
}

/// Neither managed nor external eventing is rejected too.
#[test]
fn cel_rejects_missing_eventing_choice() {
    let errors = cel_errors(serde_json::json!({
        "database": { "managed": {} },
        "eventing": {},
    }));
    assert!(
        errors.contains("exactly one of spec.eventing.managed or spec.eventing.external"),
        "{errors}"
    );
}

/// Redpanda Topic provisioning needs a cluster reference, and is impossible with the managed
/// broker.
#[test]
fn cel_rejects_redpanda_topics_without_cluster() {
    let errors = cel_errors(serde_json::json!({
        "database": { "managed": {} },
        "eventing": { "managed": {}, "topics": { "provisioner": "RedpandaTopic" } },
    }));
    assert!(
        errors.contains("redpandaClusterRef is required"),
        "{errors}"
    );
    assert!(errors.contains("needs spec.eventing.external"), "{errors}");
}

/// Autoscaling bounds must be ordered.
#[test]
fn cel_rejects_inverted_autoscaling_bounds() {
    let errors = cel_errors(serde_json::json!({
        "database": { "managed": {} },
        "eventing": { "managed": {} },
        "api": { "autoscaling": { "minReplicas": 5, "maxReplicas": 2 } },
    }));
    assert!(
        errors.contains("spec.api.autoscaling.minReplicas must not exceed"),
        "{errors}"
    );
}
