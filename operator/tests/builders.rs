//! Behaviour of the pure builders beyond the full-output snapshots: the rules a reviewer would
//! otherwise have to find in a diff.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::PodSpec;

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

fn pod_of(deployment: &Deployment) -> &PodSpec {
    deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .expect("a Deployment with a pod template")
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
/// the applied-hash annotation. (Retained Redpanda Topics, the exception, are tested below.)
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
        assert_eq!(
            meta["ownerReferences"][0]["blockOwnerDeletion"], true,
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

/// A generated value the platform does not use has no Secret to be read back from, so every
/// reconcile makes a new one: it must not reach the config hash, or every reconcile would roll the
/// pods (seen on a real API server: the Deployments' generation climbed without end).
#[test]
fn config_hash_ignores_generated_values_the_platform_does_not_use() {
    let external = serde_json::json!({
        "database": { "external": { "urlSecretRef": { "name": "db", "key": "url" } } },
        "eventing": { "managed": {} },
        "auth": { "jwtSecretRef": { "name": "jwt", "key": "secret" } },
    });
    let p = platform("todo", "ns", external);
    let base = config_hash(&build(&p));
    let mut regenerated: BuildInputs = offline_inputs();
    regenerated.generated.postgres_password = "another".into();
    regenerated.generated.jwt_secret = "another".into();
    assert_eq!(base, config_hash(&build::build(&p, &regenerated).unwrap()));

    // The managed database does use its generated password.
    let m = platform("todo", "ns", managed());
    let mut regenerated: BuildInputs = offline_inputs();
    regenerated.generated.postgres_password = "another".into();
    assert_ne!(
        config_hash(&build(&m)),
        config_hash(&build::build(&m, &regenerated).unwrap())
    );
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
        let pod = pod_of(deployment);
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
        "spec.database: set exactly one of spec.database.managed or spec.database.external"
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

/// `spec.notifications.retry` reaches the notifier, and only it, as the variables it reads; a field left
/// out is not set, so the notifier keeps its default.
#[test]
fn notification_retry_reaches_the_notifier_only() {
    let mut spec = managed();
    spec["notifications"] =
        serde_json::json!({ "retry": { "initialInterval": "10s", "giveUpAfter": "48h" } });
    let desired = build(&platform("todo", "ns", spec));
    for deployment in &desired.deployments {
        let container = &deployment
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers[0];
        let retry: Vec<(String, String)> = container
            .env
            .iter()
            .flatten()
            .filter(|e| e.name.starts_with("TODO_NOTIFY_RETRY_"))
            .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
            .collect();
        let expected = if deployment.metadata.name.as_deref() == Some("todo-worker-notifier") {
            vec![
                ("TODO_NOTIFY_RETRY_INITIAL".to_owned(), "10s".to_owned()),
                ("TODO_NOTIFY_RETRY_FOR".to_owned(), "48h".to_owned()),
            ]
        } else {
            vec![]
        };
        assert_eq!(retry, expected, "{:?}", deployment.metadata.name);
    }
}

/// With tracing on, the API and every worker export their own spans to the collector the Dapr
/// Configuration names, under their app-id and the same sampling ratio; without it they get no OTEL_* at all.
#[test]
fn apps_trace_to_the_collector_dapr_uses() {
    let env_of = |deployment: &Deployment| -> Vec<(String, String)> {
        pod_of(deployment).containers[0]
            .env
            .iter()
            .flatten()
            .filter(|e| e.name.starts_with("OTEL_"))
            .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
            .collect()
    };
    let untraced = build(&platform("todo", "ns", managed()));
    for deployment in &untraced.deployments {
        assert_eq!(env_of(deployment), vec![], "{:?}", deployment.metadata.name);
    }
    for (protocol, secure, endpoint, exporter_protocol) in [
        ("grpc", false, "http://collector.obs:4317", "grpc"),
        ("http", true, "https://collector.obs:4317", "http/protobuf"),
    ] {
        let mut spec = managed();
        spec["dapr"] = serde_json::json!({ "tracing": {
            "otlpEndpoint": "collector.obs:4317", "protocol": protocol, "secure": secure, "samplingRate": "0.25",
        } });
        let desired = build(&platform("todo", "ns", spec));
        let otel = &desired.dapr_configuration.data["spec"]["tracing"];
        assert_eq!(otel["otel"]["endpointAddress"], "collector.obs:4317");
        assert_eq!(otel["samplingRate"], "0.25");
        assert_eq!(desired.deployments.len(), 5, "the API and four workers");
        for deployment in &desired.deployments {
            let app_id = deployment.metadata.name.clone().expect("a name");
            assert_eq!(
                env_of(deployment),
                [
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", exporter_protocol),
                    ("OTEL_SERVICE_NAME", app_id.as_str()),
                    ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                    ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
                ]
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
                "{app_id}"
            );
        }
    }
}

fn job_name(spec: serde_json::Value) -> String {
    build(&platform("todo", "ns", spec))
        .migration_job
        .metadata
        .name
        .unwrap()
}

/// The migration Job's name hashes its whole (immutable) spec: any change to what its pods run
/// gives a new Job instead of an apply Kubernetes rejects; other changes keep the name.
#[test]
fn migration_job_name_follows_everything_immutable() {
    let base = job_name(managed());
    let external = |name: &str, key: &str| {
        let mut spec = managed();
        spec["database"] =
            serde_json::json!({ "external": { "urlSecretRef": { "name": name, "key": key } } });
        spec
    };
    let mut changes = Vec::new();
    for (field, value) in [
        ("images", serde_json::json!({ "pullPolicy": "Always" })),
        ("images", serde_json::json!({ "pullSecrets": ["regcred"] })),
        (
            "images",
            serde_json::json!({ "api": "mirror.example.com/todo-api" }),
        ),
        (
            "images",
            serde_json::json!({ "worker": "mirror.example.com/todo-worker" }),
        ),
        ("version", serde_json::json!("9.9.9")),
    ] {
        let mut spec = managed();
        spec[field] = value;
        changes.push(spec);
    }
    changes.push(external("db", "url"));
    let names: BTreeSet<String> = changes.into_iter().map(job_name).collect();
    assert_eq!(names.len(), 6);
    assert!(!names.contains(&base));
    assert_ne!(
        job_name(external("db", "url")),
        job_name(external("db2", "url"))
    );
    assert_ne!(
        job_name(external("db", "url")),
        job_name(external("db", "dsn"))
    );

    let mut unrelated = managed();
    unrelated["api"] = serde_json::json!({ "replicas": 5 });
    unrelated["logLevel"] = "debug".into();
    assert_eq!(job_name(unrelated), base);
}

/// The HPA reads the API container's CPU: the Dapr sidecar has no CPU request, so pod
/// utilisation is undefined (dapr/dapr#7813).
#[test]
fn hpa_scales_on_the_api_container() {
    let mut spec = managed();
    spec["api"] = serde_json::json!({ "autoscaling": { "minReplicas": 2, "maxReplicas": 6 } });
    let desired = build(&platform("todo", "ns", spec));
    let container = pod_of(&desired.deployments[0]).containers[0].name.clone();
    let metric = desired
        .autoscaler
        .unwrap()
        .spec
        .unwrap()
        .metrics
        .unwrap()
        .remove(0);
    assert_eq!(metric.type_, "ContainerResource");
    let source = metric.container_resource.unwrap();
    assert_eq!((source.container, source.name.as_str()), (container, "cpu"));
    assert!(metric.resource.is_none());
}

/// todo-worker never reads the JWT secret, so worker pods do not get it.
#[test]
fn workers_do_not_get_the_jwt_secret() {
    let desired = build(&platform("todo", "ns", managed()));
    for deployment in &desired.deployments {
        let env: Vec<String> = pod_of(deployment).containers[0]
            .env
            .iter()
            .flatten()
            .map(|e| e.name.clone())
            .collect();
        let is_api = deployment.metadata.name.as_deref() == Some("todo-api");
        assert_eq!(
            env.contains(&"TODO_JWT_SECRET".to_owned()),
            is_api,
            "{env:?}"
        );
    }
}

/// Consumer groups carry the namespace, so same-named platforms in two namespaces on one Kafka
/// never share one.
#[test]
fn consumer_groups_are_namespaced() {
    let group = |namespace: &str| {
        let desired = build(&platform("todo", namespace, managed()));
        let pubsub = desired
            .dapr_components
            .iter()
            .find(|c| c.data["spec"]["type"] == "pubsub.kafka")
            .unwrap()
            .clone();
        pubsub.data["spec"]["metadata"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "consumerGroup")
            .map(|m| m["value"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(group("team-a"), "team-a.{appID}");
    assert_ne!(group("team-a"), group("team-b"));
}

fn worker_port_sources(spec: serde_json::Value) -> Vec<serde_json::Value> {
    let desired = build(&platform("todo", "ns", spec));
    desired
        .network_policies
        .iter()
        .flat_map(|p| p.spec.clone().unwrap().ingress.unwrap())
        .filter(|rule| {
            rule.ports.iter().flatten().any(|port| {
                port.port
                    == Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(8081))
            })
        })
        .map(|rule| serde_json::to_value(rule.from).unwrap())
        .collect()
}

/// The workers' port is never open to any pod: only the platform's own pods reach it, plus
/// Prometheus when a ServiceMonitor asks for scraping.
#[test]
fn worker_port_is_not_open_to_every_pod() {
    assert!(worker_port_sources(managed()).is_empty());
    let mut spec = managed();
    spec["observability"] = serde_json::json!({ "serviceMonitor": true });
    let sources = worker_port_sources(spec);
    assert_eq!(sources.len(), 1);
    assert_eq!(
        sources[0][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
        "prometheus"
    );
}

/// Redpanda Topic resources are owned (garbage-collected with the platform) only with
/// deletionPolicy Delete.
#[test]
fn redpanda_topics_are_owned_only_with_delete() {
    let spec = |policy: &str| {
        serde_json::json!({
            "database": { "managed": {} },
            "eventing": {
                "external": { "brokers": ["k:9092"] },
                "topics": {
                    "provisioner": "RedpandaTopic",
                    "redpandaClusterRef": "rp",
                    "deletionPolicy": policy,
                },
            },
        })
    };
    let retained = build(&platform("todo", "ns", spec("Retain")));
    assert!(
        retained
            .redpanda_topics
            .iter()
            .all(|t| t.metadata.owner_references.is_none())
    );
    let deleted = build(&platform("todo", "ns", spec("Delete")));
    assert!(
        deleted
            .redpanda_topics
            .iter()
            .all(|t| t.metadata.owner_references.is_some())
    );
}

/// `allowPrivateWebhooks` lets users' webhooks reach private addresses: set on the API (test sends) and
/// the notifier only, and on neither by default.
#[test]
fn private_webhooks_only_when_allowed() {
    let allowed = |spec: serde_json::Value| -> Vec<String> {
        build(&platform("todo", "ns", spec))
            .deployments
            .iter()
            .filter(|d| {
                pod_of(d).containers[0].env.iter().flatten().any(|e| {
                    e.name == "TODO_WEBHOOK_ALLOW_PRIVATE" && e.value.as_deref() == Some("true")
                })
            })
            .map(|d| d.metadata.name.clone().expect("a name"))
            .collect()
    };
    assert_eq!(allowed(managed()), Vec::<String>::new());
    let mut spec = managed();
    spec["notifications"] = serde_json::json!({ "allowPrivateWebhooks": true });
    assert_eq!(allowed(spec), ["todo-api", "todo-worker-notifier"]);
}

/// `trustedProxies` reaches the API as `TODO_TRUSTED_PROXIES`, and only the API: the spec's list when
/// given (`[]` trusting none), else the cluster's private ranges, which the CRD's description lists.
#[test]
fn trusted_proxies_reach_the_api_only() {
    let proxies = |spec: serde_json::Value| -> Vec<(String, String)> {
        build(&platform("todo", "ns", spec))
            .deployments
            .iter()
            .flat_map(|d| {
                let name = d.metadata.name.clone().expect("a name");
                pod_of(d).containers[0]
                    .env
                    .iter()
                    .flatten()
                    .filter(|e| e.name == "TODO_TRUSTED_PROXIES")
                    .map(move |e| (name.clone(), e.value.clone().unwrap_or_default()))
            })
            .collect()
    };
    let defaults = todo_operator::crd::DEFAULT_TRUSTED_PROXIES.join(",");
    assert_eq!(proxies(managed()), [("todo-api".to_owned(), defaults)]);
    let description =
        serde_json::to_string(&<TodoPlatform as kube::CustomResourceExt>::crd()).unwrap();
    for range in todo_operator::crd::DEFAULT_TRUSTED_PROXIES {
        assert!(description.contains(range), "the CRD lists {range}");
    }
    let mut spec = managed();
    spec["api"] = serde_json::json!({ "trustedProxies": ["10.42.0.0/16", "203.0.113.10"] });
    assert_eq!(
        proxies(spec),
        [(
            "todo-api".to_owned(),
            "10.42.0.0/16,203.0.113.10".to_owned()
        )]
    );
    let mut spec = managed();
    spec["api"] = serde_json::json!({ "trustedProxies": [] });
    assert_eq!(proxies(spec), [("todo-api".to_owned(), String::new())]);
}
