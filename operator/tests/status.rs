//! Status computation: conditions from observations, stable transition times.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use todo_operator::crd::{TodoPlatform, TopicStatus};
use todo_operator::status::{self, ApplyFailure, Capabilities, Observed, Rollout, TopicOutcome};

fn platform() -> TodoPlatform {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "todoplatform.dev/v1alpha1",
        "kind": "TodoPlatform",
        "metadata": { "name": "todo", "namespace": "ns", "generation": 3 },
        "spec": { "database": { "managed": {} }, "eventing": { "managed": {} } },
    }))
    .unwrap()
}

fn observed() -> Observed {
    Observed {
        capabilities: Capabilities {
            dapr: true,
            redpanda_topics: false,
            service_monitor: false,
            prometheus_rule: false,
        },
        missing_secrets: Vec::new(),
        migration_job: "todo-migrate-1".into(),
        jobs: Vec::new(),
        deployments: Vec::new(),
        desired_deployments: vec!["todo-api".into(), "todo-worker-audit".into()],
        stateful_sets: Vec::new(),
        managed_postgres: None,
        ingresses: Vec::new(),
        ingress_desired: false,
        service_monitor_desired: false,
        prometheus_rule_desired: false,
        apply_failures: Vec::new(),
        topics: TopicOutcome::Provisioned(vec![TopicStatus::ready("ns.todo.task-events", 3)]),
        url: "http://todo-api.ns.svc:8080".into(),
    }
}

fn at(seconds: i64) -> Time {
    Time(Timestamp::from_second(seconds).unwrap())
}

fn condition<'a>(
    status: &'a todo_operator::crd::TodoPlatformStatus,
    type_: &str,
) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    status.conditions.iter().find(|c| c.type_ == type_).unwrap()
}

/// Recomputing with nothing changed yields an identical status even at a later time, so the
/// controller writes nothing (and triggers no watch event).
#[test]
fn unchanged_observation_gives_identical_status() {
    let mut p = platform();
    let first = status::compute(&p, &observed(), at(1_000));
    p.status = Some(first.clone());
    let second = status::compute(&p, &observed(), at(2_000));
    assert_eq!(first, second);
}

/// A condition that flips gets the new time; the others keep theirs.
#[test]
fn only_flipped_conditions_get_a_new_transition_time() {
    let mut p = platform();
    p.status = Some(status::compute(&p, &observed(), at(1_000)));
    let mut changed = observed();
    changed.topics = TopicOutcome::Failed {
        reason: "BrokersUnavailable",
        message: "connection refused".into(),
    };
    let next = status::compute(&p, &changed, at(2_000));
    assert_eq!(
        condition(&next, "TopicsReady").last_transition_time,
        at(2_000)
    );
    assert_eq!(condition(&next, "TopicsReady").reason, "BrokersUnavailable");
    assert_eq!(
        condition(&next, "DaprComponentsReady").last_transition_time,
        at(1_000)
    );
}

/// Ready is False with the first failing concern's reason and lists all failing concerns.
#[test]
fn ready_summarises_failing_conditions() {
    let mut o = observed();
    o.capabilities.dapr = false;
    o.missing_secrets = vec!["db".into()];
    let s = status::compute(&platform(), &o, at(1));
    let ready = condition(&s, "Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "DaprNotInstalled")
    );
    assert!(ready.message.contains("DatabaseReady") && ready.message.contains("ApiAvailable"));
    assert_eq!(
        condition(&s, "DatabaseReady").message,
        "referenced Secrets not found: db"
    );
    assert_eq!(s.observed_generation, Some(3));
    assert!(
        s.conditions
            .iter()
            .all(|c| c.observed_generation == Some(3))
    );
}

/// A failed migration Job holds the rollout and says how to retry.
#[test]
fn failed_migration_is_reported() {
    let mut o = observed();
    o.jobs = vec![
        serde_json::from_value(serde_json::json!({
            "metadata": { "name": "todo-migrate-1" },
            "status": { "conditions": [{ "type": "Failed", "status": "True" }] },
        }))
        .unwrap(),
    ];
    let s = status::compute(&platform(), &o, at(1));
    let migrations = condition(&s, "MigrationsComplete");
    assert_eq!(migrations.reason, "Failed");
    assert!(migrations.message.contains("delete the Job to retry"));
    assert_eq!(
        condition(&s, "Stalled").status,
        "True",
        "kstatus: stuck until a human acts"
    );
    assert_eq!(condition(&s, "Reconciling").status, "False");
}

fn deployment(value: serde_json::Value) -> k8s_openapi::api::apps::v1::Deployment {
    serde_json::from_value(value).unwrap()
}

fn rolled_out(name: &str, generation: i64) -> serde_json::Value {
    serde_json::json!({
        "metadata": { "name": name, "generation": generation },
        "spec": { "replicas": 2, "selector": {}, "template": {} },
        "status": {
            "observedGeneration": generation, "replicas": 2, "updatedReplicas": 2,
            "availableReplicas": 2,
            "conditions": [{ "type": "Available", "status": "True" }],
        },
    })
}

/// kstatus' Deployment rules: an unobserved generation, replicas not yet updated, old replicas
/// left, or updated replicas not available all mean the rollout is in progress, even while
/// the Available condition is still True from the previous rollout.
#[test]
fn deployment_rollout_follows_kstatus() {
    let complete = deployment(rolled_out("api", 4));
    assert_eq!(status::rollout(&[complete], "api"), Rollout::Complete);

    let cases = [
        ("/metadata/generation", serde_json::json!(5), "not observed"),
        (
            "/status/updatedReplicas",
            serde_json::json!(1),
            "1 of 2 replicas updated",
        ),
        ("/status/replicas", serde_json::json!(3), "old replicas"),
        (
            "/status/availableReplicas",
            serde_json::json!(1),
            "1 of 2 updated replicas available",
        ),
    ];
    for (pointer, value, expected) in cases {
        let mut object = rolled_out("api", 4);
        *object.pointer_mut(pointer).unwrap() = value;
        match status::rollout(&[deployment(object)], "api") {
            Rollout::InProgress(message) => assert!(message.contains(expected), "{message}"),
            other => panic!("{pointer}: {other:?}"),
        }
    }
    assert!(matches!(
        status::rollout(&[], "api"),
        Rollout::InProgress(_)
    ));

    let mut object = rolled_out("api", 4);
    object["status"]["conditions"] = serde_json::json!([
        { "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
          "message": "ReplicaSet api-1 has timed out progressing." },
    ]);
    assert!(matches!(
        status::rollout(&[deployment(object)], "api"),
        Rollout::Failed(_)
    ));
}

/// A rollout in progress keeps Ready False and Reconciling True (no human needed).
#[test]
fn rolling_deployments_are_not_ready() {
    let mut o = observed();
    o.jobs = vec![
        serde_json::from_value(serde_json::json!({
            "metadata": { "name": "todo-migrate-1" }, "status": { "succeeded": 1 },
        }))
        .unwrap(),
    ];
    let mut rolling = rolled_out("todo-api", 2);
    rolling["status"]["observedGeneration"] = 1.into();
    o.deployments = vec![
        deployment(rolling),
        deployment(rolled_out("todo-worker-audit", 1)),
    ];
    let s = status::compute(&platform(), &o, at(1));
    assert_eq!(condition(&s, "ApiAvailable").reason, "RollingOut");
    assert_eq!(condition(&s, "Ready").status, "False");
    assert_eq!(condition(&s, "Reconciling").status, "True");
    assert_eq!(condition(&s, "Stalled").status, "False");

    o.deployments[0] = deployment(rolled_out("todo-api", 2));
    let s = status::compute(&platform(), &o, at(1));
    assert_eq!(condition(&s, "Ready").status, "True");
}

/// Causes only a human can fix are Stalled (kstatus Failed) with the cause as reason; an
/// outage stays Reconciling.
#[test]
fn human_causes_stall_and_transient_ones_do_not() {
    type Change = fn(&mut Observed);
    let stalls: [(&str, Change); 6] = [
        ("SecretNotFound", |o| o.missing_secrets = vec!["db".into()]),
        ("DaprNotInstalled", |o| o.capabilities.dapr = false),
        ("RedpandaOperatorNotInstalled", |o| {
            o.topics = TopicOutcome::RedpandaOperatorMissing;
        }),
        ("ApplyFailed", |o| {
            o.apply_failures = vec![ApplyFailure {
                kind: "StatefulSet".into(),
                name: "todo-postgres".into(),
                message: "spec: Forbidden: updates to statefulset spec".into(),
                needs_human: true,
            }];
        }),
        ("ServiceMonitorCrdMissing", |o| {
            o.service_monitor_desired = true
        }),
        ("PrometheusRuleCrdMissing", |o| {
            o.service_monitor_desired = true;
            o.capabilities.service_monitor = true;
            o.prometheus_rule_desired = true;
        }),
    ];
    for (reason, change) in stalls {
        let mut o = observed();
        change(&mut o);
        let s = status::compute(&platform(), &o, at(1));
        let stalled = condition(&s, "Stalled");
        assert_eq!(
            (stalled.status.as_str(), stalled.reason.as_str()),
            ("True", reason)
        );
        assert_eq!(condition(&s, "Reconciling").status, "False", "{reason}");
        assert_eq!(condition(&s, "Ready").status, "False", "{reason}");
    }

    let mut o = observed();
    o.topics = TopicOutcome::Failed {
        reason: "BrokersUnavailable",
        message: "connection refused".into(),
    };
    let s = status::compute(&platform(), &o, at(1));
    assert_eq!(condition(&s, "Stalled").status, "False");
    assert_eq!(condition(&s, "Reconciling").status, "True");
}

/// IngressReady needs the Ingress, not a load-balancer address (many controllers never publish
/// one); an address, when there is one, is in the message.
#[test]
fn ingress_is_ready_without_an_address() {
    let mut o = observed();
    o.ingress_desired = true;
    let s = status::compute(&platform(), &o, at(1));
    assert_eq!(condition(&s, "IngressReady").status, "False");

    o.ingresses = vec![
        serde_json::from_value(serde_json::json!({ "metadata": { "name": "todo-api" } })).unwrap(),
    ];
    let s = status::compute(&platform(), &o, at(1));
    assert_eq!(condition(&s, "IngressReady").status, "True");

    o.ingresses = vec![
        serde_json::from_value(serde_json::json!({
            "metadata": { "name": "todo-api" },
            "status": { "loadBalancer": { "ingress": [{ "ip": "203.0.113.7" }] } },
        }))
        .unwrap(),
    ];
    let s = status::compute(&platform(), &o, at(1));
    assert!(
        condition(&s, "IngressReady")
            .message
            .contains("203.0.113.7")
    );
}

/// Pausing keeps the last conditions, adds Paused=True and turns Reconciling False; a settled
/// paused status is byte-equal on the next reconcile.
#[test]
fn paused_status() {
    let mut p = platform();
    p.status = Some(status::compute(&p, &observed(), at(1)));
    let paused = status::paused(&p, at(2));
    assert_eq!(condition(&paused, "Paused").status, "True");
    assert_eq!(
        condition(&paused, "Reconciling").reason,
        "PausedByAnnotation"
    );
    assert_eq!(
        condition(&paused, "TopicsReady"),
        condition(p.status.as_ref().unwrap(), "TopicsReady")
    );
    p.status = Some(paused.clone());
    assert_eq!(status::paused(&p, at(3)), paused);
}
