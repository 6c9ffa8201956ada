//! The Helm chart: `helm lint`, and `helm template` output validated against Kubernetes'
//! schemas for the default values, the single-replica variant and each cloud guide's values file.

use crate::common;

use std::process::Command;

fn chart_dir() -> std::path::PathBuf {
    common::repo_root().join("charts/todo-operator")
}

/// `helm lint --strict` passes (values also checked against values.schema.json).
#[test]
fn helm_lint_passes() {
    let Some(helm) = common::helm("helm_lint_passes") else {
        return;
    };
    let out = Command::new(helm)
        .args(["lint", "--strict"])
        .arg(chart_dir())
        .output()
        .expect("helm runs");
    assert!(
        out.status.success(),
        "helm lint failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn template(helm: &std::path::Path, extra: &[&str]) -> String {
    let out = Command::new(helm)
        .args(["template", "todo-operator", "--namespace", "todo-system"])
        .arg(chart_dir())
        .args(extra)
        .output()
        .expect("helm runs");
    assert!(
        out.status.success(),
        "helm template {extra:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("helm prints UTF-8")
}

/// Rendered chart (defaults, and without leader election / CRDs / metrics Service) is valid
/// Kubernetes, and contains what the defaults promise.
#[test]
fn helm_template_renders_valid_manifests() {
    let Some(helm) = common::helm("helm_template_renders_valid_manifests") else {
        return;
    };
    let Some(validator) = common::manifest_validator("helm_template_renders_valid_manifests")
    else {
        return;
    };
    let defaults = template(&helm, &[]);
    for kind in [
        "kind: CustomResourceDefinition",
        "kind: Deployment",
        "kind: ClusterRole",
        "kind: Role",
        "kind: Service",
    ] {
        assert!(defaults.contains(kind), "default render lacks {kind}");
    }
    assert!(
        defaults.contains("helm.sh/resource-policy: keep"),
        "the CRD survives uninstall"
    );
    let minimal = template(
        &helm,
        &[
            "--set",
            "leaderElection=false",
            "--set",
            "replicaCount=1",
            "--set",
            "crds.install=false",
            "--set",
            "metrics.service=false",
        ],
    );
    assert!(
        !minimal.contains("kind: CustomResourceDefinition") && !minimal.contains("kind: Role\n")
    );
    for (name, rendered) in [("defaults", defaults), ("minimal", minimal)] {
        let out = common::validate_manifests(&validator, &rendered, &[]);
        assert!(
            out.status.success(),
            "{name}: invalid chart output\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// values.schema.json rejects nonsense, e.g. two replicas without leader election.
#[test]
fn values_schema_rejects_unsafe_replicas() {
    let Some(helm) = common::helm("values_schema_rejects_unsafe_replicas") else {
        return;
    };
    let out = Command::new(helm)
        .args(["template", "x"])
        .arg(chart_dir())
        .args(["--set", "leaderElection=false", "--set", "replicaCount=2"])
        .output()
        .expect("helm runs");
    assert!(
        !out.status.success(),
        "two replicas without leader election must be rejected"
    );
}

/// The values file of each cloud guide (examples/clouds/*/values.yaml).
fn cloud_values() -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> =
        std::fs::read_dir(common::repo_root().join("examples/clouds"))
            .expect("examples/clouds exists")
            .map(|entry| entry.expect("readable").path().join("values.yaml"))
            .collect();
    files.sort();
    for file in &files {
        assert!(file.is_file(), "{} exists", file.display());
    }
    assert_eq!(files.len(), 4, "oke, gke, aks, kind: {files:?}");
    files
}

/// Each cloud guide's values pass `helm lint --strict` (values.schema.json included) and render
/// valid Kubernetes objects.
#[test]
fn cloud_values_lint_and_render_valid_manifests() {
    let Some(helm) = common::helm("cloud_values_lint_and_render_valid_manifests") else {
        return;
    };
    let Some(validator) =
        common::manifest_validator("cloud_values_lint_and_render_valid_manifests")
    else {
        return;
    };
    for values in cloud_values() {
        let values_arg = values.to_str().expect("UTF-8 path");
        let out = Command::new(&helm)
            .args(["lint", "--strict", "-f", values_arg])
            .arg(chart_dir())
            .output()
            .expect("helm runs");
        assert!(
            out.status.success(),
            "{values_arg}: helm lint failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let rendered = template(&helm, &["-f", values_arg]);
        assert!(rendered.contains("kind: Deployment"), "{values_arg}");
        let out = common::validate_manifests(&validator, &rendered, &[]);
        assert!(
            out.status.success(),
            "{values_arg}: invalid chart output\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// With `monitoring.*` on, the chart ships the operator's ServiceMonitor, its PrometheusRule (the
/// committed rule file, which promtool checks, verbatim, with the extra labels) and its dashboard
/// ConfigMap (the committed JSON, with the Grafana sidecar's label), valid against their CRDs.
#[test]
fn monitoring_values_ship_the_committed_rules_and_dashboard() {
    let Some(helm) = common::helm("monitoring_values_ship_the_committed_rules_and_dashboard")
    else {
        return;
    };
    let Some(validator) =
        common::manifest_validator("monitoring_values_ship_the_committed_rules_and_dashboard")
    else {
        return;
    };
    let is_dashboard = |d: &&serde_json::Value| {
        d["kind"] == "ConfigMap" && d["metadata"]["labels"]["grafana_dashboard"] == "1"
    };
    let defaults = documents(&template(&helm, &[]));
    assert!(
        !defaults.iter().any(|d| d["kind"] == "ServiceMonitor"
            || d["kind"] == "PrometheusRule"
            || is_dashboard(&d)),
        "monitoring is opt-in"
    );
    let rendered = template(
        &helm,
        &[
            "--set",
            "monitoring.serviceMonitor=true",
            "--set",
            "monitoring.prometheusRules=true",
            "--set",
            "monitoring.ruleLabels.release=kube-prometheus-stack",
            "--set",
            "monitoring.grafanaDashboard=true",
        ],
    );
    let documents = documents(&rendered);
    let find = |kind: &str| {
        documents
            .iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"].as_str().is_some())
            .unwrap_or_else(|| panic!("no {kind} rendered"))
    };
    let read = |relative: &str| {
        std::fs::read_to_string(chart_dir().join(relative))
            .unwrap_or_else(|e| panic!("read {relative}: {e}"))
    };
    let rule = find("PrometheusRule");
    let committed: serde_json::Value =
        serde_yaml::from_str(&read("alerts/operator-rules.yaml")).expect("rules parse");
    assert_eq!(rule["spec"], committed);
    assert_eq!(
        rule["metadata"]["labels"]["release"],
        "kube-prometheus-stack"
    );
    assert_eq!(
        find("ServiceMonitor")["spec"]["endpoints"][0]["path"],
        "/metrics"
    );
    let dashboard = documents
        .iter()
        .find(is_dashboard)
        .expect("a dashboard ConfigMap");
    let shipped: serde_json::Value = serde_json::from_str(
        dashboard["data"]["todo-operator.json"]
            .as_str()
            .expect("dashboard key"),
    )
    .expect("shipped dashboard parses");
    let committed: serde_json::Value =
        serde_json::from_str(&read("dashboards/operator.json")).expect("dashboard parses");
    assert_eq!(shipped, committed);
    let out = common::validate_manifests(&validator, &rendered, &[common::prometheus_rule_crd()]);
    assert!(
        out.status.success(),
        "invalid chart output\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The documents of a multi-document YAML stream, as JSON.
fn documents(rendered: &str) -> Vec<serde_json::Value> {
    serde_yaml::Deserializer::from_str(rendered)
        .filter_map(|doc| {
            <Option<serde_json::Value> as serde::Deserialize>::deserialize(doc)
                .expect("helm renders valid YAML")
        })
        .collect()
}
