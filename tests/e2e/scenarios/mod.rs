//! The scenarios, each its own test in its own namespace.

mod admission;
mod argocd;
mod changes;
mod deletion;
mod kafka;
mod lifecycle;
mod rbac;
mod scale;
mod scoped;

use std::sync::{Arc, OnceLock};

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::support::Suite;

/// A scenario: runs against the shared suite, panics on failure.
type Scenario = fn(&Suite);

const SCENARIOS: [(&str, Scenario); 14] = [
    (
        "admission_rejects_invalid_platforms_naming_the_field",
        admission::rejects_invalid_platforms,
    ),
    (
        "admission_accepts_every_example",
        admission::accepts_every_example,
    ),
    (
        "without_third_party_crds_the_platform_says_what_is_missing",
        lifecycle::without_third_party_crds,
    ),
    (
        "ready_only_after_migration_and_rollout_with_owned_labelled_children",
        lifecycle::ready_after_migration_and_rollout,
    ),
    ("examples_reconcile_as_documented", lifecycle::examples),
    (
        "two_platforms_share_a_namespace",
        lifecycle::two_platforms_in_one_namespace,
    ),
    ("drift_in_children_is_reverted", changes::drift_is_reverted),
    (
        "pull_policy_change_replaces_the_migration_job",
        changes::pull_policy_replaces_migration_job,
    ),
    (
        "managed_storage_change_stalls_naming_the_field_and_the_rest_still_applies",
        changes::managed_storage_change_stalls,
    ),
    (
        "failed_upgrade_stalls_keeps_old_pods_and_recovers",
        changes::failed_upgrade,
    ),
    ("pause_annotation_stops_reconciliation", changes::pause),
    (
        "deletion_collects_children_and_honours_topic_policy",
        deletion::children_and_topic_policy,
    ),
    (
        "namespace_deletion_never_hangs_on_the_finalizer",
        deletion::namespace_deletion,
    ),
    (
        "external_kafka_with_sasl_over_tls_topics_provisioned_grown_and_deleted",
        kafka::sasl_tls_topics,
    ),
];

const AFTER: [(&str, Scenario); 3] = [
    (
        "operator_rbac_grants_what_it_uses_and_nothing_to_spare",
        rbac::least_privilege,
    ),
    (
        "argocd_health_check_agrees_with_kstatus_on_real_objects",
        argocd::health_check_agrees_with_kstatus,
    ),
    (
        "namespace_scoped_install_manages_its_namespace_only",
        scoped::namespace_scoped_install,
    ),
];

/// Names of the scenarios (for `--list`).
pub const NAMES: [&str; 14] = {
    let mut names = [""; 14];
    let mut i = 0;
    while i < SCENARIOS.len() {
        names[i] = SCENARIOS[i].0;
        i += 1;
    }
    names
};

/// Names of the checks that run after every scenario.
pub const AFTERWARDS: [&str; 3] = [AFTER[0].0, AFTER[1].0, AFTER[2].0];

fn trial(suite: &Arc<Suite>, name: &'static str, scenario: Scenario) -> Trial {
    let suite = suite.clone();
    Trial::test(name, move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(&suite))).map_err(
            |panic| {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "panicked".into());
                Failed::from(message)
            },
        )
    })
}

/// The benchmark (ignored unless asked for with `--ignored`).
pub const BENCHMARK: &str = "scale_benchmark";

/// The scenarios, to run in parallel, and the benchmark.
pub fn trials(suite: &Arc<Suite>) -> Vec<Trial> {
    SCENARIOS
        .iter()
        .map(|(name, scenario)| trial(suite, name, *scenario))
        .chain([trial(suite, BENCHMARK, scale::scale).with_ignored_flag(true)])
        .collect()
}

/// The checks that need every scenario to have run first.
pub fn afterwards(suite: &Arc<Suite>) -> Vec<Trial> {
    AFTER
        .iter()
        .map(|(name, scenario)| trial(suite, name, *scenario))
        .collect()
}

/// What the platform looked like on a cluster without Dapr, Redpanda and Prometheus-operator CRDs.
pub struct Bare {
    /// Its JSON (with status) once the operator had reported.
    pub platform: Value,
    /// kstatus's verdict on it.
    pub kstatus: String,
    /// Kinds of the children that existed then.
    pub child_kinds: Vec<String>,
}

/// Filled by [`before`], read by the scenario.
pub static BARE: OnceLock<Bare> = OnceLock::new();

/// Runs before the scenarios, while the cluster has only Kubernetes' own kinds: one platform reconciled there,
/// then the third-party CRDs installed and the operator restarted (it caches which CRDs exist).
pub fn before(suite: &Suite) {
    let namespace = "e2e-bare";
    suite.namespace(namespace);
    suite.secret(namespace, "db", &[("url", "postgres://todo@db:5432/todo")]);
    suite.apply(&basic_platform(namespace, "bare").to_string());
    let platform = suite.block_on(suite.eventually(
        "the bare platform's first status",
        crate::support::WAIT,
        || async {
            let platform = suite.get_json("todoplatform", namespace, "bare")?;
            let conditions = platform["status"]["conditions"].as_array()?;
            let reported = conditions
                .iter()
                .any(|c| c["type"] == "DaprComponentsReady" && c["status"] == "False");
            let migrated = conditions
                .iter()
                .any(|c| c["type"] == "MigrationsComplete" && c["status"] == "True");
            (reported && migrated).then_some(platform)
        },
    ));
    let kstatus = suite.cluster.kstatus(&platform);
    let children = suite.block_on(suite.children(namespace, "bare"));
    let mut child_kinds: Vec<String> = children
        .iter()
        .filter_map(|c| c.types.as_ref().map(|t| t.kind.clone()))
        .collect();
    child_kinds.sort();
    child_kinds.dedup();
    BARE.set(Bare {
        platform,
        kstatus,
        child_kinds,
    })
    .unwrap_or_else(|_| panic!("before() runs once"));

    let crds = crate::support::repo().join("../shared/third-party-crds");
    crate::support::check(
        suite
            .kubectl()
            .args(["apply", "--server-side", "-f"])
            .arg(&crds)
            .arg("-f")
            // Vendored with the operator's tests: the shared set lacks the PrometheusRule CRD.
            .arg(crate::common::prometheus_rule_crd()),
        None,
    );
    crate::support::check(
        suite.kubectl().args([
            "wait",
            "--for",
            "condition=Established",
            "crd",
            "--all",
            "--timeout",
            "60s",
        ]),
        None,
    );
    suite.restart_operator();
}

/// A platform with an external database (Secret `db`) and externally provisioned topics: everything the
/// operator renders, nothing that needs a reachable broker.
pub fn basic_platform(namespace: &str, name: &str) -> Value {
    json!({
        "apiVersion": "todoplatform.dev/v1alpha1",
        "kind": "TodoPlatform",
        "metadata": { "name": name, "namespace": namespace },
        "spec": {
            "version": "1.0.0",
            "api": { "replicas": 1 },
            "database": { "external": { "urlSecretRef": { "name": "db", "key": "url" } } },
            "eventing": {
                "external": { "brokers": ["kafka.kafka.svc:9092"] },
                "topics": { "provisioner": "External" }
            }
        }
    })
}
