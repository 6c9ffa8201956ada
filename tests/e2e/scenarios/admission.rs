//! What the API server itself accepts and rejects, with the CRD's schema and CEL rules installed by the chart.

use serde_json::{Value, json};

use super::basic_platform;
use crate::support::{Suite, check, example, run};

/// `kubectl apply --dry-run=server` of a platform: Ok, or the API server's message.
fn dry_run(suite: &Suite, platform: &Value) -> Result<(), String> {
    let output = run(
        suite
            .kubectl()
            .args(["apply", "--dry-run=server", "-f", "-"]),
        Some(&platform.to_string()),
    );
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn with(patch: impl FnOnce(&mut Value)) -> Value {
    let mut platform = basic_platform("e2e-admission", "todo");
    patch(&mut platform);
    platform
}

/// Each invalid platform is rejected by the API server, and the message names the field at fault.
pub fn rejects_invalid_platforms(suite: &Suite) {
    suite.namespace("e2e-admission");
    assert_eq!(
        dry_run(suite, &with(|_| ())),
        Ok(()),
        "the valid base platform"
    );
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "a name too long for its children's names",
            with(|p| {
                p["metadata"]["name"] =
                    "a-very-long-platform-name-that-cannot-fit-into-child-names".into()
            }),
            "metadata.name",
        ),
        (
            "a name that is not a DNS label",
            with(|p| p["metadata"]["name"] = "todo.platform".into()),
            "metadata.name",
        ),
        (
            "a version that is not a label value",
            with(|p| p["spec"]["version"] = "1.0.0 beta!".into()),
            "spec.version",
        ),
        (
            "negative API replicas",
            with(|p| p["spec"]["api"]["replicas"] = (-1).into()),
            "spec.api.replicas",
        ),
        (
            "negative worker replicas",
            with(|p| p["spec"]["workers"] = json!({ "audit": { "replicas": -1 } })),
            "spec.workers.audit.replicas",
        ),
        (
            "autoscaling min above max",
            with(|p| {
                p["spec"]["api"]["autoscaling"] = json!({ "minReplicas": 5, "maxReplicas": 2 })
            }),
            "minReplicas",
        ),
        (
            "zero partitions",
            with(|p| p["spec"]["eventing"]["topics"]["partitions"] = 0.into()),
            "spec.eventing.topics.partitions",
        ),
        (
            "an ingress host that is not a DNS name",
            with(|p| p["spec"]["ingress"] = json!({ "host": "not a host" })),
            "spec.ingress.host",
        ),
        (
            "a managed broker with replication factor 3",
            with(|p| {
                p["spec"]["eventing"] = json!({
                    "managed": {},
                    "topics": { "replicationFactor": 3 },
                })
            }),
            "replicationFactor",
        ),
        (
            "Redpanda Topic provisioning without a cluster reference",
            with(|p| p["spec"]["eventing"]["topics"]["provisioner"] = "RedpandaTopic".into()),
            "redpandaClusterRef",
        ),
        (
            "Redpanda Topic provisioning for the managed broker",
            with(|p| {
                p["spec"]["eventing"] = json!({
                    "managed": {},
                    "topics": { "provisioner": "RedpandaTopic", "redpandaClusterRef": "redpanda" },
                })
            }),
            "provisioner",
        ),
        (
            "both a managed and an external database",
            with(|p| p["spec"]["database"]["managed"] = json!({})),
            "database",
        ),
        (
            "no broker at all",
            with(|p| p["spec"]["eventing"]["external"]["brokers"] = json!([])),
            "spec.eventing.external.brokers",
        ),
        (
            "an unknown SASL mechanism",
            with(|p| {
                p["spec"]["eventing"]["external"]["sasl"] =
                    json!({ "mechanism": "GSSAPI", "secretName": "kafka" })
            }),
            "spec.eventing.external.sasl.mechanism",
        ),
        (
            "a malformed managed storage size",
            with(|p| {
                p["spec"]["database"] = json!({ "managed": { "storage": "lots" } });
            }),
            "spec.database.managed.storage",
        ),
    ];
    let mut failures = Vec::new();
    for (what, platform, field) in &cases {
        match dry_run(suite, platform) {
            Ok(()) => failures.push(format!("{what}: accepted")),
            Err(message) if !message.contains(field) => {
                failures.push(format!("{what}: message does not name {field}: {message}"))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every example in the repository passes admission as it is.
pub fn accepts_every_example(suite: &Suite) {
    suite.namespace("e2e-examples-dry");
    for file in [
        "examples/minimal.yaml",
        "examples/production.yaml",
        "examples/gitops/platform/todoplatform.yaml",
        "examples/clouds/oke/todoplatform.yaml",
        "examples/clouds/gke/todoplatform.yaml",
        "examples/clouds/aks/todoplatform.yaml",
        "examples/clouds/kind/todoplatform.yaml",
    ] {
        let platform = example(file, "e2e-examples-dry", "todo");
        assert_eq!(dry_run(suite, &platform), Ok(()), "{file}");
    }
    // The CRD the chart installed is the one the repository generates.
    let installed = check(
        suite.kubectl().args([
            "get",
            "crd",
            "todoplatforms.todoplatform.dev",
            "-o",
            "jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.required}",
        ]),
        None,
    );
    assert!(
        installed.contains("database") && installed.contains("eventing"),
        "{installed}"
    );
}
