//! The committed CRD (crds/ and the chart's copy) against the Rust types, and the schema's
//! own rules.

mod common;

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
         `TODO_UPDATE_GENERATED=1 cargo test -p todo-operator --test crd` and commit it"
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

fn platform(spec: serde_json::Value) -> TodoPlatform {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "todoplatform.dev/v1alpha1",
        "kind": "TodoPlatform",
        "metadata": { "name": "todo", "namespace": "ns" },
        "spec": spec,
    }))
    .expect("valid TodoPlatform JSON")
}

fn cel_errors(spec: serde_json::Value) -> String {
    match kube::core::cel::validate_cel(&platform(spec)) {
        Ok(()) => String::new(),
        Err(errors) => format!("{errors:?}"),
    }
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
        errors.contains("exactly one of database.managed or database.external"),
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
        errors.contains("exactly one of eventing.managed or eventing.external"),
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
    assert!(errors.contains("needs eventing.external"), "{errors}");
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
        errors.contains("minReplicas must not exceed maxReplicas"),
        "{errors}"
    );
}
