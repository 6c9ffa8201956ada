//! Status computation: conditions from observations, stable transition times.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use todo_operator::crd::{TodoPlatform, TopicState, TopicStatus};
use todo_operator::status::{self, Capabilities, Observed, TopicOutcome};

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
        topics: TopicOutcome::Provisioned(vec![TopicStatus {
            name: "ns.todo.task-events".into(),
            partitions: Some(3),
            state: TopicState::Ready,
            message: None,
        }]),
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
