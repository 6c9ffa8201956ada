//! Behaviour of the pure builders beyond the full-output snapshots: the rules a reviewer would
//! otherwise have to find in a diff.

use std::collections::BTreeSet;

use todo_operator::build::{self, BuildInputs, Concern, DesiredState};
use todo_operator::crd::TodoPlatform;
use todo_operator::names::{APPLIED_HASH_ANNOTATION, CONFIG_HASH_ANNOTATION};
use todo_operator::render::offline_inputs;

fn platform(name: &str, namespace: &str, spec: serde_json::Value) -> TodoPlatform {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "todoplatform.dev/v1alpha1",
        "kind": "TodoPlatform",
        "metadata": { "name": name, "namespace": namespace, "uid": "0000-1111" },
        "spec": spec,
    }))
    .expect("valid TodoPlatform")
}

fn managed() -> serde_json::Value {
    serde_json::json!({ "database": { "managed": {} }, "eventing": { "managed": {} } })
}

fn build(platform: &TodoPlatform) -> DesiredState {
    build::build(platform, &offline_inputs()).expect("builds")
}

fn config_hash(desired: &DesiredState) -> String {
    desired.deployments[0]
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(CONFIG_HASH_ANNOTATION))
        .cloned()
        .expect("api pods carry the config hash")
}

/// Same inputs, same bytes: the property `render`, snapshots and no-write reconciles rely on.
#[test]
fn build_is_deterministic() {
    let p = platform("todo", "ns", managed());
    let first: Vec<_> = build(&p)
        .into_children()
        .into_iter()
        .map(|c| c.manifest)
        .collect();
    let second: Vec<_> = build(&p)
        .into_children()
        .into_iter()
        .map(|c| c.manifest)
        .collect();
    assert_eq!(first, second);
}

/// Every child is owned by the CR (controller reference) and carries the standard labels and
/// the applied-hash annotation.
#[test]
fn every_child_has_owner_labels_and_hash() {
    for child in build(&platform("todo", "ns", managed())).into_children() {
        let meta = &child.manifest["metadata"];
        assert_eq!(
            meta["ownerReferences"][0]["uid"], "0000-1111",
            "{}",
            child.name
        );
        assert_eq!(
            meta["ownerReferences"][0]["controller"], true,
            "{}",
            child.name
        );
        for label in [
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/component",
            "app.kubernetes.io/managed-by",
            "app.kubernetes.io/part-of",
            "app.kubernetes.io/version",
        ] {
            assert!(
                meta["labels"][label].is_string(),
                "{} lacks {label}",
                child.name
            );
        }
        assert_eq!(meta["namespace"], "ns");
        assert_eq!(child.applied_hash().len(), 16, "{}", child.name);
        assert!(meta["annotations"][APPLIED_HASH_ANNOTATION].is_string());
    }
}

/// Two platforms in one namespace never produce the same child (kind, name).
#[test]
fn two_platforms_share_a_namespace_without_collisions() {
    let key = |d: DesiredState| -> BTreeSet<(String, String)> {
        d.into_children()
            .into_iter()
            .map(|c| (c.resource.kind, c.name))
            .collect()
    };
    let a = key(build(&platform("alpha", "ns", managed())));
    let b = key(build(&platform("beta", "ns", managed())));
    assert!(
        a.is_disjoint(&b),
        "{:?}",
        a.intersection(&b).collect::<Vec<_>>()
    );
}

/// With autoscaling the HPA owns replicas: the Deployment must not set them or SSA would fight
/// the autoscaler on every reconcile.
#[test]
fn autoscaling_leaves_replicas_to_the_hpa() {
    let mut spec = managed();
    spec["api"] =
        serde_json::json!({ "replicas": 4, "autoscaling": { "minReplicas": 2, "maxReplicas": 6 } });
    let desired = build(&platform("todo", "ns", spec));
    assert_eq!(desired.deployments[0].spec.as_ref().unwrap().replicas, None);
    let hpa = desired.autoscaler.expect("HPA built");
    assert_eq!(hpa.spec.as_ref().unwrap().max_replicas, 6);

    let desired = build(&platform("todo", "ns", managed()));
    assert_eq!(
        desired.deployments[0].spec.as_ref().unwrap().replicas,
        Some(2)
    );
    assert!(desired.autoscaler.is_none());
}

/// A JWT Secret is generated only when the spec references none.
#[test]
fn jwt_secret_is_generated_only_without_a_reference() {
    let names = |d: &DesiredState| -> Vec<String> {
        d.generated_secrets
            .iter()
            .filter_map(|s| s.metadata.name.clone())
            .collect()
    };
    let generated = build(&platform("todo", "ns", managed()));
    assert_eq!(
        names(&generated),
        ["todo-app-token", "todo-jwt", "todo-postgres"]
    );

    let mut spec = managed();
    spec["auth"] = serde_json::json!({ "jwtSecretRef": { "name": "mine", "key": "k" } });
    let referenced = build(&platform("todo", "ns", spec));
    assert_eq!(names(&referenced), ["todo-app-token", "todo-postgres"]);
}

/// Rotating a referenced Secret or changing config changes the pods' config hash (rolls them);
/// an unrelated reconcile does not.
#[test]
fn config_hash_follows_config_and_secret_versions() {
    let p = platform("todo", "ns", managed());
    let base = config_hash(&build(&p));
    let mut rotated: BuildInputs = offline_inputs();
    rotated
        .referenced_secret_versions
        .insert("db".into(), "42".into());
    assert_ne!(base, config_hash(&build::build(&p, &rotated).unwrap()));

    let mut spec = managed();
    spec["logLevel"] = "debug".into();
    assert_ne!(base, config_hash(&build(&platform("todo", "ns", spec))));
    assert_eq!(base, config_hash(&build(&p)));
}

/// Disabled roles get no Deployment, Service, Subscription or Component scope.
#[test]
fn disabled_roles_are_absent_everywhere() {
    let mut spec = managed();
    spec["workers"] =
        serde_json::json!({ "audit": { "enabled": false }, "reminders": { "enabled": false } });
    let desired = build(&platform("todo", "ns", spec));
    let deployments: Vec<_> = desired
        .deployments
        .iter()
        .filter_map(|d| d.metadata.name.clone())
        .collect();
    assert_eq!(
        deployments,
        ["todo-api", "todo-worker-recurrence", "todo-worker-notifier"]
    );
    let subscriptions: Vec<_> = desired
        .dapr_subscriptions
        .iter()
        .filter_map(|s| s.metadata.name.clone())
        .collect();
    assert_eq!(
        subscriptions,
        [
            "todo-recurrence-task-events",
            "todo-notifier-reminders",
            "todo-api-task-updates"
        ]
    );
    assert!(
        desired
            .dapr_components
            .iter()
            .all(|c| c.metadata.name.as_deref() != Some("todo-reminder-cron")),
        "no cron binding without the reminders role"
    );
    let text = serde_json::to_string(&desired.dapr_components).unwrap();
    assert!(!text.contains("worker-audit"));
}

/// Every subscription has a dead-letter topic of its own stream, and each topic the apps use is
/// planned for provisioning.
#[test]
fn subscriptions_dead_letter_to_planned_topics() {
    let desired = build(&platform("todo", "team", managed()));
    let planned: BTreeSet<String> = desired
        .topics
        .topics
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(planned.len(), 6);
    for subscription in &desired.dapr_subscriptions {
        let spec = &subscription.data["spec"];
        let topic = spec["topic"].as_str().unwrap();
        let dead_letter = spec["deadLetterTopic"].as_str().unwrap();
        assert_eq!(dead_letter, format!("{topic}-dlq"));
        assert!(planned.contains(topic) && planned.contains(dead_letter));
        assert!(topic.starts_with("team.todo."));
    }
}

/// Redpanda Topic resources exist only with that provisioner, one per planned topic.
#[test]
fn redpanda_topics_only_with_that_provisioner() {
    assert!(
        build(&platform("todo", "ns", managed()))
            .redpanda_topics
            .is_empty()
    );
    let spec = serde_json::json!({
        "database": { "managed": {} },
        "eventing": {
            "external": { "brokers": ["k:9092"] },
            "topics": { "provisioner": "RedpandaTopic", "redpandaClusterRef": "rp" },
        },
    });
    let desired = build(&platform("todo", "ns", spec));
    assert_eq!(desired.redpanda_topics.len(), 6);
    assert!(
        desired
            .into_children()
            .iter()
            .any(|c| c.concern == Concern::Topics)
    );
}

/// Containers run as non-root with a read-only root filesystem and no capabilities.
#[test]
fn app_containers_are_locked_down() {
    let desired = build(&platform("todo", "ns", managed()));
    for deployment in &desired.deployments {
        let pod = deployment
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap();
        for container in &pod.containers {
            let security = container.security_context.as_ref().unwrap();
            assert_eq!(security.run_as_non_root, Some(true));
            assert_eq!(security.read_only_root_filesystem, Some(true));
            assert_eq!(security.allow_privilege_escalation, Some(false));
            assert!(container.readiness_probe.is_some() && container.liveness_probe.is_some());
        }
    }
}

/// Specs the schema should have rejected are still refused by the builder (a cluster without
/// CEL support, or `render` input).
#[test]
fn ambiguous_dependencies_are_refused() {
    let spec = serde_json::json!({
        "database": { "managed": {}, "external": { "urlSecretRef": { "name": "d", "key": "u" } } },
        "eventing": { "managed": {} },
    });
    let error = build::build(&platform("todo", "ns", spec), &offline_inputs()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "spec.database: set exactly one of managed or external"
    );
}

/// todo-api's internal routes are reachable only through Dapr: its sidecar presents a generated
/// app token (annotation) that the API also receives (APP_API_TOKEN); workers need none.
#[test]
fn api_gets_the_dapr_app_token_and_workers_do_not() {
    let desired = build(&platform("todo", "ns", managed()));
    for deployment in &desired.deployments {
        let template = &deployment.spec.as_ref().unwrap().template;
        let annotation = template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get("dapr.io/app-token-secret"))
            .cloned();
        let env: Vec<String> = template.spec.as_ref().unwrap().containers[0]
            .env
            .iter()
            .flatten()
            .map(|e| e.name.clone())
            .collect();
        let is_api = deployment.metadata.name.as_deref() == Some("todo-api");
        assert_eq!(annotation.as_deref(), is_api.then_some("todo-app-token"));
        assert_eq!(env.contains(&"APP_API_TOKEN".to_owned()), is_api);
    }
    assert!(
        desired
            .generated_secrets
            .iter()
            .any(|s| s.metadata.name.as_deref() == Some("todo-app-token"))
    );
}
