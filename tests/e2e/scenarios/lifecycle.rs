//! A platform from creation to Ready, on a cluster with and without the optional CRDs.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, ListParams};
use kube::runtime::{WatchStreamExt, watcher};
use todo_operator::crd::TodoPlatform;

use super::{BARE, basic_platform};
use crate::support::{Suite, condition, example, has, observed_current, ready};

/// The standard labels every child carries.
const STANDARD_LABELS: [&str; 5] = [
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
];

/// Every child is controlled by the platform (so kube-controller-manager collects it) and labelled.
pub async fn assert_children_owned_and_labelled(suite: &Suite, platform: &TodoPlatform) {
    let namespace = platform.metadata.namespace.as_deref().expect("namespaced");
    let name = platform.metadata.name.as_deref().expect("named");
    let uid = platform.metadata.uid.as_deref().expect("uid");
    let children = suite.children(namespace, name).await;
    assert!(!children.is_empty(), "{namespace}/{name} has no children");
    for child in &children {
        let kind = child.types.as_ref().map(|t| t.kind.as_str()).unwrap_or("?");
        let child_name = child.metadata.name.as_deref().unwrap_or("?");
        // Retained Redpanda Topics deliberately outlive the platform (deletionPolicy Retain).
        if kind == "Topic" {
            continue;
        }
        let owners = child.metadata.owner_references.clone().unwrap_or_default();
        let controller = owners
            .iter()
            .find(|o| o.controller == Some(true))
            .unwrap_or_else(|| panic!("{kind} {child_name} has no controller owner: {owners:?}"));
        assert_eq!(
            controller.uid, uid,
            "{kind} {child_name} owned by another object"
        );
        assert_eq!(controller.kind, "TodoPlatform");
        assert_eq!(
            controller.block_owner_deletion,
            Some(true),
            "{kind} {child_name}: blockOwnerDeletion"
        );
        let labels = child.metadata.labels.clone().unwrap_or_default();
        for label in STANDARD_LABELS {
            assert!(
                labels.get(label).is_some_and(|v| !v.is_empty()),
                "{kind} {child_name} lacks label {label}: {labels:?}"
            );
        }
        assert_eq!(
            labels.get("app.kubernetes.io/instance").map(String::as_str),
            Some(name)
        );
    }
}

/// Before the third-party CRDs existed: the operator applied what Kubernetes serves, said which CRDs are
/// missing, and kstatus did not call the platform healthy. Once they exist, the same platform becomes Ready.
pub fn without_third_party_crds(suite: &Suite) {
    let bare = BARE.get().expect("before() ran");
    let conditions = bare.platform["status"]["conditions"]
        .as_array()
        .expect("conditions");
    let dapr = conditions
        .iter()
        .find(|c| c["type"] == "DaprComponentsReady")
        .expect("DaprComponentsReady condition");
    assert_eq!(dapr["status"], "False");
    assert_eq!(dapr["reason"], "DaprNotInstalled", "{dapr}");
    let ready_condition = conditions
        .iter()
        .find(|c| c["type"] == "Ready")
        .expect("Ready condition");
    assert_eq!(ready_condition["status"], "False", "{ready_condition}");
    assert_ne!(
        bare.kstatus, "Current",
        "kstatus must not call a platform without Dapr healthy"
    );
    for kind in ["Deployment", "Job", "ConfigMap", "Service", "Secret"] {
        assert!(
            bare.child_kinds.iter().any(|k| k == kind),
            "without Dapr the operator still applies {kind}s: {:?}",
            bare.child_kinds
        );
    }
    assert!(
        !bare.child_kinds.iter().any(|k| k == "Component"),
        "{:?}",
        bare.child_kinds
    );

    let platform = suite.block_on(suite.platform_where(
        "e2e-bare",
        "bare",
        "Ready once the Dapr CRDs exist",
        ready,
    ));
    let children = suite.block_on(suite.children("e2e-bare", "bare"));
    let components = children
        .iter()
        .filter(|c| c.types.as_ref().is_some_and(|t| t.kind == "Component"))
        .count();
    assert!(components >= 3, "Dapr Components applied: {components}");
    suite.block_on(assert_children_owned_and_labelled(suite, &platform));
}

/// Watches a platform and keeps every status it went through.
fn record_history(suite: &Suite, namespace: &str, name: &str) -> Arc<Mutex<Vec<TodoPlatform>>> {
    let history = Arc::new(Mutex::new(Vec::new()));
    let api: Api<TodoPlatform> = Api::namespaced(suite.client.clone(), namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let sink = history.clone();
    suite.block_on(async move {
        tokio::spawn(async move {
            let mut stream = watcher(api, config).applied_objects().boxed();
            while let Some(Ok(platform)) = stream.next().await {
                sink.lock().expect("history lock").push(platform);
            }
        });
    });
    history
}

/// Created → Reconciling while the migration Job runs → Deployments created only after it succeeded →
/// Ready once they are Available; kstatus agrees at each end; every child owned and labelled;
/// observedGeneration follows a spec change.
pub fn ready_after_migration_and_rollout(suite: &Suite) {
    let namespace = "e2e-ready";
    suite.namespace(namespace);
    suite.secret(namespace, "db", &[("url", "postgres://todo@db:5432/todo")]);
    let history = record_history(suite, namespace, "todo");
    suite.apply(&basic_platform(namespace, "todo").to_string());

    let platform = suite.block_on(suite.platform_where(namespace, "todo", "Ready", ready));
    for type_ in [
        "DaprComponentsReady",
        "TopicsReady",
        "DatabaseReady",
        "MigrationsComplete",
        "ApiAvailable",
        "WorkersAvailable",
    ] {
        assert!(
            has(&platform, type_, "True"),
            "{type_} not True: {:?}",
            platform.status
        );
    }
    assert!(has(&platform, "Reconciling", "False"));
    assert!(has(&platform, "Stalled", "False"));
    for c in &platform.status.as_ref().expect("status").conditions {
        assert_eq!(c.observed_generation, platform.metadata.generation, "{c:?}");
    }
    let json = serde_json::to_value(&platform).expect("platform JSON");
    assert_eq!(suite.cluster.kstatus(&json), "Current");

    // The rollout waited for the migration: no Deployment is older than the Job's completion.
    let jobs: Api<Job> = Api::namespaced(suite.client.clone(), namespace);
    let deployments: Api<Deployment> = Api::namespaced(suite.client.clone(), namespace);
    let (jobs, deployments) = suite.block_on(async {
        (
            jobs.list(&ListParams::default()).await.expect("jobs").items,
            deployments
                .list(&ListParams::default())
                .await
                .expect("deployments")
                .items,
        )
    });
    assert_eq!(jobs.len(), 1, "one migration Job");
    let completed = jobs[0]
        .status
        .as_ref()
        .and_then(|s| s.completion_time.clone())
        .expect("the migration Job completed");
    assert_eq!(deployments.len(), 5, "the API and four workers");
    for deployment in &deployments {
        let created = deployment
            .metadata
            .creation_timestamp
            .clone()
            .expect("created");
        assert!(
            created.0 >= completed.0,
            "Deployment {:?} created at {created:?}, before the migration completed at {completed:?}",
            deployment.metadata.name
        );
    }
    // Every status the platform went through: never Ready before its migration and rollout were done.
    let seen = history.lock().expect("history lock").clone();
    assert!(!seen.is_empty(), "the watch saw the platform");
    for snapshot in &seen {
        if has(snapshot, "Ready", "True") {
            assert!(has(snapshot, "MigrationsComplete", "True"));
            assert!(has(snapshot, "ApiAvailable", "True"));
        }
    }
    assert!(
        seen.iter()
            .any(|p| has(p, "Reconciling", "True") && !has(p, "Ready", "True")),
        "the platform was reported Reconciling before Ready"
    );
    suite.block_on(assert_children_owned_and_labelled(suite, &platform));

    // A spec change: observedGeneration follows, and the change reaches the Deployment.
    suite.patch_platform(
        namespace,
        &serde_json::json!({ "spec": { "api": { "replicas": 3 } } }),
    );
    let changed = suite.block_on(suite.platform_where(
        namespace,
        "todo",
        "Ready for generation 2",
        |p| p.metadata.generation == Some(2) && ready(p),
    ));
    assert_eq!(
        changed.status.as_ref().expect("status").observed_generation,
        Some(2)
    );
    let api = suite
        .get_json("deployment", namespace, "todo-api")
        .expect("API Deployment");
    assert_eq!(api["spec"]["replicas"], 3);
    assert_eq!(
        api["status"]["readyReplicas"], 3,
        "kwok made three pods ready"
    );
}

/// Every example applies and reaches the state its comments promise on this cluster. Brokers that live inside
/// a cluster are unreachable from this machine's operator process, so where an example provisions topics over
/// the Kafka admin API, TopicsReady reports exactly that and everything else is Ready; the production example
/// delegates topics to the Redpanda operator and becomes Ready.
pub fn examples(suite: &Suite) {
    struct Case {
        file: &'static str,
        namespace: &'static str,
        secrets: &'static [(&'static str, &'static [(&'static str, &'static str)])],
        expect_ready: bool,
    }
    let cases = [
        Case {
            file: "examples/minimal.yaml",
            namespace: "e2e-ex-minimal",
            secrets: &[],
            expect_ready: false,
        },
        Case {
            file: "examples/production.yaml",
            namespace: "e2e-ex-production",
            secrets: &[
                ("todo-database", &[("url", "postgres://todo@db:5432/todo")]),
                (
                    "todo-kafka",
                    &[("username", "todo"), ("password", "secret")],
                ),
                (
                    "todo-kafka-ca",
                    &[("ca.crt", "-----BEGIN CERTIFICATE-----")],
                ),
                ("todo-smtp", &[("url", "smtp://mail:25")]),
                ("todo-webhook", &[("secret", "hmac")]),
                ("todo-jwt", &[("secret", "jwt")]),
            ],
            expect_ready: true,
        },
        Case {
            file: "examples/gitops/platform/todoplatform.yaml",
            namespace: "e2e-ex-gitops",
            secrets: &[("todo-database", &[("url", "postgres://todo@db:5432/todo")])],
            expect_ready: false,
        },
    ];
    for case in &cases {
        suite.namespace(case.namespace);
        for (name, data) in case.secrets {
            suite.secret(case.namespace, name, data);
        }
        let manifest = example(case.file, case.namespace, "todo");
        suite.apply(&manifest.to_string());
        let what = format!("{} reconciled", case.file);
        let platform = suite.block_on(suite.platform_where(case.namespace, "todo", &what, |p| {
            observed_current(p)
                && has(p, "MigrationsComplete", "True")
                && has(p, "ApiAvailable", "True")
                && has(p, "WorkersAvailable", "True")
                && (has(p, "TopicsReady", "True") || has(p, "TopicsReady", "False"))
        }));
        let topics = condition(&platform, "TopicsReady").expect("TopicsReady");
        let verdict = suite
            .cluster
            .kstatus(&serde_json::to_value(&platform).expect("JSON"));
        if case.expect_ready {
            assert!(ready(&platform), "{}: {:?}", case.file, platform.status);
            assert_eq!(verdict, "Current", "{}", case.file);
        } else {
            // Unreachable brokers may come back: in progress, not failed.
            assert_eq!(verdict, "InProgress", "{}", case.file);
            assert_eq!(topics.status, "False", "{}: {topics:?}", case.file);
            assert_eq!(
                topics.reason, "BrokersUnavailable",
                "{}: {topics:?}",
                case.file
            );
            assert!(has(&platform, "Reconciling", "True"), "{}", case.file);
        }
        suite.block_on(assert_children_owned_and_labelled(suite, &platform));
    }
}

/// Two platforms in one namespace: disjoint children, both Ready, neither touches the other's.
pub fn two_platforms_in_one_namespace(suite: &Suite) {
    let namespace = "e2e-two";
    suite.namespace(namespace);
    suite.secret(namespace, "db", &[("url", "postgres://todo@db:5432/todo")]);
    suite.apply(&basic_platform(namespace, "alpha").to_string());
    suite.apply(&basic_platform(namespace, "beta").to_string());
    let alpha = suite.block_on(suite.platform_where(namespace, "alpha", "Ready", ready));
    let beta = suite.block_on(suite.platform_where(namespace, "beta", "Ready", ready));
    let names = |children: Vec<kube::api::DynamicObject>| -> BTreeSet<(String, String)> {
        children
            .into_iter()
            .map(|c| {
                (
                    c.types.map(|t| t.kind).unwrap_or_default(),
                    c.metadata.name.unwrap_or_default(),
                )
            })
            .collect()
    };
    let a = names(suite.block_on(suite.children(namespace, "alpha")));
    let b = names(suite.block_on(suite.children(namespace, "beta")));
    assert!(
        a.is_disjoint(&b),
        "shared children: {:?}",
        a.intersection(&b).collect::<Vec<_>>()
    );
    suite.block_on(assert_children_owned_and_labelled(suite, &alpha));
    suite.block_on(assert_children_owned_and_labelled(suite, &beta));
}
