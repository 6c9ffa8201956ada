//! The reconciler against an in-memory API server (kube-rs's tower-test mock pattern): what a
//! reconcile writes, and — as important — what it does not.

use crate::support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use http::Method;
use kube::core::DeserializeGuard;
use kube::core::error_boundary::InvalidObject;
use serde_json::{Value, json};
use support::fake_apiserver::{FakeApiServer, Recorded};
use todo_operator::build::{self, TopicPlan};
use todo_operator::controller::{self, Context};
use todo_operator::crd::{TodoPlatform, TopicStatus};
use todo_operator::metrics::Metrics;
use todo_operator::render::offline_inputs;
use todo_operator::topics::{KafkaCluster, TopicAdmin, TopicError};

const NAMESPACE: &str = "team";
const PLATFORM: &str = "/apis/todoplatform.dev/v1alpha1/namespaces/team/todoplatforms/todo";

/// Records topic calls; every planned topic is reported Ready.
#[derive(Default)]
pub(crate) struct RecordingTopics {
    ensured: Mutex<Vec<Vec<String>>>,
    deleted: Mutex<Vec<Vec<String>>>,
}

impl TopicAdmin for RecordingTopics {
    fn ensure<'a>(
        &'a self,
        _cluster: &'a KafkaCluster,
        plans: &'a [TopicPlan],
    ) -> BoxFuture<'a, Result<Vec<TopicStatus>, TopicError>> {
        self.ensured
            .lock()
            .unwrap()
            .push(plans.iter().map(|p| p.name.clone()).collect());
        let statuses = plans
            .iter()
            .map(|p| TopicStatus::ready(&p.name, p.partitions))
            .collect();
        Box::pin(async move { Ok(statuses) })
    }

    fn delete<'a>(
        &'a self,
        _cluster: &'a KafkaCluster,
        names: &'a [String],
    ) -> BoxFuture<'a, Result<(), TopicError>> {
        self.deleted.lock().unwrap().push(names.to_vec());
        Box::pin(async { Ok(()) })
    }
}

struct Harness {
    server: FakeApiServer,
    ctx: Arc<Context>,
    topics: Arc<RecordingTopics>,
}

fn platform_json(spec: Value) -> Value {
    json!({
        "apiVersion": "todoplatform.dev/v1alpha1",
        "kind": "TodoPlatform",
        "metadata": { "name": "todo", "namespace": NAMESPACE, "uid": "platform-uid", "generation": 1 },
        "spec": spec,
    })
}

fn managed_spec() -> Value {
    json!({ "database": { "managed": {} }, "eventing": { "managed": {} } })
}

impl Harness {
    fn new(spec: Value, dapr: bool) -> Self {
        let (client, server) = FakeApiServer::start();
        if dapr {
            server.serve_dapr();
        }
        server.insert(PLATFORM, platform_json(spec));
        let topics = Arc::new(RecordingTopics::default());
        let ctx = Arc::new(Context::new(
            client,
            topics.clone(),
            Arc::new(Metrics::default()),
            None,
        ));
        Self {
            server,
            ctx,
            topics,
        }
    }

    fn platform(&self) -> TodoPlatform {
        serde_json::from_value(self.server.get(PLATFORM).expect("platform stored"))
            .expect("stored platform parses")
    }

    /// Reconcile the platform as currently stored; return the requests it made.
    async fn reconcile(&self) -> (kube::runtime::controller::Action, Vec<Recorded>) {
        let (result, requests) = self.try_reconcile().await;
        (result.expect("reconcile succeeds"), requests)
    }

    /// Reconcile; return its result and the requests it made.
    async fn try_reconcile(
        &self,
    ) -> (
        Result<kube::runtime::controller::Action, controller::Error>,
        Vec<Recorded>,
    ) {
        self.server.take_requests();
        let guard = Arc::new(DeserializeGuard(Ok(self.platform())));
        let result = controller::reconcile(guard, self.ctx.clone()).await;
        (result, self.server.take_requests())
    }

    /// Change the stored platform as `kubectl edit` would: a spec change bumps the generation;
    /// status, finalizers and annotations stay unless `edit` changes them.
    fn edit(&self, edit: impl FnOnce(&mut Value)) {
        let mut platform = self.server.get(PLATFORM).unwrap();
        let spec = platform["spec"].clone();
        edit(&mut platform);
        if platform["spec"] != spec {
            let generation = platform["metadata"]["generation"].as_i64().unwrap();
            platform["metadata"]["generation"] = (generation + 1).into();
        }
        self.server.insert(PLATFORM, platform);
    }

    /// Every Deployment finished rolling out its current generation, and managed PostgreSQL
    /// is ready (what kube-controller-manager and the kubelet would report).
    fn complete_rollouts(&self) {
        for path in self
            .server
            .paths()
            .into_iter()
            .filter(|p| p.contains("/deployments/"))
        {
            let deployment = self.server.get(&path).unwrap();
            let replicas = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
            self.server.set_status(
                &path,
                json!({
                    "observedGeneration": deployment["metadata"]["generation"],
                    "replicas": replicas,
                    "updatedReplicas": replicas,
                    "readyReplicas": replicas,
                    "availableReplicas": replicas,
                    "conditions": [{ "type": "Available", "status": "True" }],
                }),
            );
        }
        let postgres = format!("/apis/apps/v1/namespaces/{NAMESPACE}/statefulsets/todo-postgres");
        if self.server.get(&postgres).is_some() {
            self.server
                .set_status(&postgres, json!({ "readyReplicas": 1 }));
        }
    }

    /// Drive a new managed platform to Ready.
    async fn make_ready(&self) {
        self.reconcile().await;
        self.succeed_migration();
        self.reconcile().await;
        self.complete_rollouts();
        self.reconcile().await;
        assert_eq!(self.condition("Ready").0, "True");
    }

    fn message(&self, type_: &str) -> String {
        self.platform()
            .status
            .unwrap()
            .conditions
            .into_iter()
            .find(|c| c.type_ == type_)
            .unwrap()
            .message
    }

    fn condition(&self, type_: &str) -> (String, String) {
        let platform = self.platform();
        let condition = platform
            .status
            .expect("status written")
            .conditions
            .into_iter()
            .find(|c| c.type_ == type_)
            .unwrap_or_else(|| panic!("no {type_} condition"));
        (condition.status, condition.reason)
    }

    fn succeed_migration(&self) {
        for job in self
            .server
            .paths()
            .into_iter()
            .filter(|p| p.contains("/jobs/todo-migrate-"))
        {
            self.server.set_status(&job, json!({ "succeeded": 1 }));
        }
    }

    fn jobs(&self) -> Vec<String> {
        self.server
            .paths()
            .into_iter()
            .filter(|p| p.contains("/jobs/"))
            .collect()
    }
}

fn writes(requests: &[Recorded]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.is_write())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn api_path(resource: &kube::api::ApiResource, name: &str) -> String {
    let prefix = if resource.group.is_empty() {
        "/api/v1".to_owned()
    } else {
        format!("/apis/{}", resource.api_version)
    };
    format!("{prefix}/namespaces/{NAMESPACE}/{}/{name}", resource.plural)
}

/// Paths of every child the builders produce for `spec`.
fn desired_paths(spec: Value) -> BTreeSet<String> {
    let platform: TodoPlatform = serde_json::from_value(platform_json(spec)).unwrap();
    build::build(&platform, &offline_inputs())
        .unwrap()
        .into_children()
        .iter()
        .map(|c| api_path(&c.resource, &c.name))
        .collect()
}

/// A new platform: every child but the Deployments is applied (they wait for the migration
/// Job), topics are provisioned, and the status says why it is not Ready yet.
#[tokio::test]
async fn first_reconcile_applies_children_and_writes_status() {
    let harness = Harness::new(managed_spec(), true);
    let (_, requests) = harness.reconcile().await;
    let applied: BTreeSet<String> = requests
        .iter()
        .filter(|r| r.method == Method::PATCH && !r.path.ends_with("/status"))
        .map(|r| r.path.clone())
        .collect();
    let expected: BTreeSet<String> = desired_paths(managed_spec())
        .into_iter()
        .filter(|p| !p.contains("/deployments/"))
        .collect();
    assert_eq!(applied, expected);
    assert!(
        requests
            .iter()
            .any(|r| r.method == Method::PATCH && r.path == format!("{PLATFORM}/status"))
    );
    assert_eq!(
        harness.condition("MigrationsComplete"),
        ("False".into(), "Running".into())
    );
    assert_eq!(
        harness.condition("DaprComponentsReady"),
        ("True".into(), "Applied".into())
    );
    assert_eq!(
        harness.condition("TopicsReady"),
        ("True".into(), "Provisioned".into())
    );
    assert_eq!(harness.condition("Ready").0, "False");
    assert_eq!(harness.topics.ensured.lock().unwrap()[0].len(), 6);
    let status = harness.platform().status.unwrap();
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(status.url.as_deref(), Some("http://todo-api.team.svc:8080"));
}

/// Reconciling an unchanged platform performs no writes at all (only reads).
#[tokio::test]
async fn unchanged_platform_reconciles_without_writes() {
    let harness = Harness::new(managed_spec(), true);
    harness.reconcile().await;
    let (_, requests) = harness.reconcile().await;
    assert_eq!(writes(&requests), Vec::<String>::new());
    assert!(!requests.is_empty(), "it still reads the cluster");
}

/// Deployments roll out once the migration Job succeeded; when everything is available the
/// platform is Ready, an Event says so, and the next reconcile is write-free again.
#[tokio::test]
async fn rollout_waits_for_migrations_then_platform_becomes_ready() {
    let harness = Harness::new(managed_spec(), true);
    harness.reconcile().await;
    harness.succeed_migration();
    let (_, requests) = harness.reconcile().await;
    let deployments: BTreeSet<String> = writes(&requests)
        .into_iter()
        .filter(|w| w.contains("/deployments/"))
        .collect();
    assert_eq!(deployments.len(), 5, "{deployments:?}");
    assert_eq!(
        harness.condition("MigrationsComplete"),
        ("True".into(), "Succeeded".into())
    );

    harness.complete_rollouts();
    let (action, requests) = harness.reconcile().await;
    assert_eq!(
        harness.condition("Ready"),
        ("True".into(), "AllReady".into())
    );
    assert!(
        writes(&requests)
            .iter()
            .any(|w| w.starts_with("POST /apis/events.k8s.io/v1")),
        "Ready event"
    );
    assert_eq!(
        format!("{action:?}"),
        format!(
            "{:?}",
            kube::runtime::controller::Action::requeue(Duration::from_secs(600))
        )
    );

    let (_, requests) = harness.reconcile().await;
    assert_eq!(writes(&requests), Vec::<String>::new());
}

/// A child deleted behind the operator's back is re-applied, and nothing else is touched.
#[tokio::test]
async fn deleted_child_is_reapplied() {
    let harness = Harness::new(managed_spec(), true);
    harness.reconcile().await;
    let config_map = format!("/api/v1/namespaces/{NAMESPACE}/configmaps/todo-config");
    harness
        .server
        .remove(&config_map)
        .expect("ConfigMap was applied");
    let (_, requests) = harness.reconcile().await;
    assert_eq!(writes(&requests), vec![format!("PATCH {config_map}")]);
}

/// Disabling a worker role deletes its Deployment, Service and Subscription.
#[tokio::test]
async fn children_no_longer_desired_are_deleted() {
    let harness = Harness::new(managed_spec(), true);
    harness.reconcile().await;
    harness.succeed_migration();
    harness.reconcile().await;
    let mut spec = managed_spec();
    spec["workers"] = json!({ "audit": { "enabled": false } });
    let mut platform = platform_json(spec);
    platform["metadata"]["generation"] = 2.into();
    platform["status"] = harness.server.get(PLATFORM).unwrap()["status"].clone();
    harness.server.insert(PLATFORM, platform);
    let (_, requests) = harness.reconcile().await;
    let deleted: BTreeSet<String> = writes(&requests)
        .into_iter()
        .filter(|w| w.starts_with("DELETE"))
        .collect();
    assert_eq!(
        deleted,
        BTreeSet::from([
            format!("DELETE /apis/apps/v1/namespaces/{NAMESPACE}/deployments/todo-worker-audit"),
            format!("DELETE /api/v1/namespaces/{NAMESPACE}/services/todo-worker-audit"),
            format!(
                "DELETE /apis/dapr.io/v2alpha1/namespaces/{NAMESPACE}/subscriptions/todo-audit-task-events"
            ),
        ])
    );
}

/// Monitoring follows `spec.observability`: with the Prometheus operator's CRDs served, the
/// PrometheusRule and the dashboards ConfigMap are applied and MonitoringReady says so; switched
/// off, both are deleted and the condition goes; without the CRD the platform stalls naming it.
#[tokio::test]
async fn monitoring_objects_follow_observability() {
    let mut spec = managed_spec();
    spec["observability"] = json!({ "prometheusRules": true, "grafanaDashboards": true });
    let harness = Harness::new(spec, true);
    harness.server.serve_group(
        "monitoring.coreos.com/v1",
        &["servicemonitors", "prometheusrules"],
    );
    let rule = format!(
        "/apis/monitoring.coreos.com/v1/namespaces/{NAMESPACE}/prometheusrules/todo-alerts"
    );
    let dashboards = format!("/api/v1/namespaces/{NAMESPACE}/configmaps/todo-dashboards");
    let (_, requests) = harness.reconcile().await;
    let applied = writes(&requests);
    for path in [&rule, &dashboards] {
        assert!(
            applied.contains(&format!("PATCH {path}")),
            "{path}: {applied:#?}"
        );
    }
    assert_eq!(
        harness.server.get(&dashboards).unwrap()["metadata"]["labels"]["grafana_dashboard"],
        "1"
    );
    assert_eq!(
        harness.condition("MonitoringReady"),
        ("True".into(), "Applied".into())
    );
    assert_eq!(harness.message("MonitoringReady"), "PrometheusRule applied");

    harness.edit(|p| p["spec"]["observability"] = json!({}));
    let (_, requests) = harness.reconcile().await;
    let deleted: BTreeSet<String> = writes(&requests)
        .into_iter()
        .filter(|w| w.starts_with("DELETE"))
        .collect();
    assert_eq!(
        deleted,
        BTreeSet::from([format!("DELETE {rule}"), format!("DELETE {dashboards}")])
    );
    assert!(
        harness
            .platform()
            .status
            .unwrap()
            .conditions
            .iter()
            .all(|c| c.type_ != "MonitoringReady")
    );

    let mut spec = managed_spec();
    spec["observability"] = json!({ "prometheusRules": true });
    let without_crd = Harness::new(spec, true);
    without_crd.reconcile().await;
    assert_eq!(
        without_crd.condition("MonitoringReady"),
        ("False".into(), "PrometheusRuleCrdMissing".into())
    );
    assert_eq!(without_crd.condition("Stalled").0, "True");
}

/// With deletionPolicy Delete the finalizer is added first, and on deletion the platform's
/// topics are deleted before the finalizer is released.
#[tokio::test]
async fn finalizer_deletes_topics_on_deletion() {
    let mut spec = managed_spec();
    spec["eventing"]["topics"] = json!({ "deletionPolicy": "Delete" });
    let harness = Harness::new(spec, true);
    let (_, requests) = harness.reconcile().await;
    assert_eq!(
        writes(&requests),
        vec![format!("PATCH {PLATFORM}")],
        "only the finalizer is added first"
    );
    assert_eq!(
        harness.platform().metadata.finalizers,
        Some(vec![controller::FINALIZER.to_owned()])
    );

    let mut stored = harness.server.get(PLATFORM).unwrap();
    stored["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z".into();
    harness.server.insert(PLATFORM, stored);
    harness.reconcile().await;
    let deleted = harness.topics.deleted.lock().unwrap().clone();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].len(), 6);
    assert!(deleted[0].iter().all(|t| t.starts_with("team.todo.")));
    assert_eq!(harness.platform().metadata.finalizers, Some(vec![]));
}

/// With the default Retain policy there is no finalizer and deletion leaves topics alone.
#[tokio::test]
async fn retained_topics_survive_deletion() {
    let harness = Harness::new(managed_spec(), true);
    harness.reconcile().await;
    assert_eq!(harness.platform().metadata.finalizers, None);
    let mut stored = harness.server.get(PLATFORM).unwrap();
    stored["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z".into();
    harness.server.insert(PLATFORM, stored);
    let (_, requests) = harness.reconcile().await;
    assert_eq!(writes(&requests), Vec::<String>::new());
    assert!(harness.topics.deleted.lock().unwrap().is_empty());
}

/// Without Dapr's CRDs the Dapr objects are skipped and a condition says what to install;
/// the rest is applied and nothing fails.
#[tokio::test]
async fn missing_dapr_crds_become_a_condition() {
    let harness = Harness::new(managed_spec(), false);
    let (_, requests) = harness.reconcile().await;
    assert!(writes(&requests).iter().all(|w| !w.contains("dapr.io")));
    assert!(
        writes(&requests)
            .iter()
            .any(|w| w.contains("/configmaps/todo-config"))
    );
    assert_eq!(
        harness.condition("DaprComponentsReady"),
        ("False".into(), "DaprNotInstalled".into())
    );
    // Nothing gets better without a human installing Dapr: kstatus Failed, not InProgress.
    assert_eq!(
        harness.condition("Stalled"),
        ("True".into(), "DaprNotInstalled".into())
    );
    assert_eq!(harness.condition("Reconciling").0, "False");
}

/// A spec the builder refuses is reported as Ready=False/InvalidSpec, nothing is applied, and
/// the controller waits for an edit instead of retrying.
#[tokio::test]
async fn invalid_spec_is_reported_and_waits_for_a_change() {
    let spec = json!({
        "database": { "managed": {}, "external": { "urlSecretRef": { "name": "db", "key": "url" } } },
        "eventing": { "managed": {} },
    });
    let harness = Harness::new(spec, true);
    let (result, requests) = harness.try_reconcile().await;
    let written = writes(&requests);
    assert!(
        written
            .iter()
            .all(|w| w.ends_with("/status") || w.contains("/events")),
        "{written:?}"
    );
    assert_eq!(
        harness.condition("Ready"),
        ("False".into(), "InvalidSpec".into())
    );
    assert_eq!(
        harness.condition("Stalled"),
        ("True".into(), "InvalidSpec".into())
    );
    assert!(harness.message("Ready").contains("spec.database"));
    let error = result.unwrap_err();
    assert_eq!(error.kind(), "validate");
    let guard = Arc::new(DeserializeGuard(Ok(harness.platform())));
    assert_eq!(
        format!(
            "{:?}",
            controller::error_policy(guard, &error, harness.ctx.clone())
        ),
        format!("{:?}", kube::runtime::controller::Action::await_change())
    );
}

/// The admission rules the CRD's CEL enforces are also enforced by the validate step, for
/// API servers that did not (negative replicas here).
#[tokio::test]
async fn validate_step_rejects_what_cel_would() {
    let mut spec = managed_spec();
    spec["api"] = json!({ "replicas": -1 });
    let harness = Harness::new(spec, true);
    let (result, requests) = harness.try_reconcile().await;
    assert!(
        writes(&requests)
            .iter()
            .all(|w| !w.contains("/deployments/"))
    );
    assert_eq!(result.unwrap_err().kind(), "validate");
    assert!(harness.message("Ready").contains("spec.api.replicas"));
}

/// A TodoPlatform that does not deserialize is skipped without touching the API.
#[tokio::test]
async fn undeserializable_platform_is_skipped() {
    let harness = Harness::new(managed_spec(), true);
    harness.server.take_requests();
    let guard = Arc::new(DeserializeGuard::<TodoPlatform>(Err(InvalidObject {
        error: "spec.api.replicas: invalid type".into(),
        metadata: Default::default(),
    })));
    let action = controller::reconcile(guard, harness.ctx.clone())
        .await
        .unwrap();
    assert_eq!(
        format!("{action:?}"),
        format!("{:?}", kube::runtime::controller::Action::await_change())
    );
    assert!(harness.server.take_requests().is_empty());
    assert!(
        harness
            .ctx
            .metrics
            .render()
            .contains("todo_operator_invalid_objects_total 1")
    );
}

/// Retries back off exponentially, cap at five minutes, and jitter adds at most 20 %.
#[test]
fn backoff_grows_caps_and_jitters() {
    assert_eq!(controller::backoff(1, 0.0), Duration::from_secs(5));
    assert_eq!(controller::backoff(2, 0.0), Duration::from_secs(10));
    assert_eq!(controller::backoff(30, 0.0), Duration::from_secs(300));
    assert_eq!(
        controller::backoff(1, 0.999_999),
        Duration::from_secs(5).mul_f64(1.0 + 0.2 * 0.999_999)
    );
}

/// One child the API server refuses does not stop the others, and the status still gets
/// written: an old Ready=True turns False, naming the child and the server's message.
#[tokio::test]
async fn a_refused_child_neither_stops_the_others_nor_leaves_status_stale() {
    let harness = Harness::new(managed_spec(), true);
    harness.make_ready().await;
    let config_map = format!("/api/v1/namespaces/{NAMESPACE}/configmaps/todo-config");
    harness.server.refuse_writes(
        &config_map,
        http::StatusCode::UNPROCESSABLE_ENTITY,
        "ConfigMap \"todo-config\" is invalid: data: Too long",
    );
    harness.edit(|p| p["spec"]["logLevel"] = "debug".into());
    let (result, requests) = harness.try_reconcile().await;
    let error = result.unwrap_err();
    assert_eq!(error.kind(), "apply");
    let written = writes(&requests);
    assert!(
        written
            .iter()
            .filter(|w| w.contains("/deployments/"))
            .count()
            == 5,
        "the Deployments (new config hash) are applied after the refused ConfigMap: {written:?}"
    );
    assert_eq!(
        harness.condition("Ready"),
        ("False".into(), "ApplyFailed".into())
    );
    let message = harness.message("Ready");
    assert!(
        message.contains("ConfigMap todo-config") && message.contains("data: Too long"),
        "{message}"
    );
    assert_eq!(
        harness.condition("Stalled"),
        ("True".into(), "ApplyFailed".into())
    );
    assert!(
        harness.ctx.metrics.render().contains("kind=\"apply\""),
        "the errors metric names the step"
    );

    harness.server.accept_writes(&config_map);
    harness.reconcile().await;
    assert_eq!(harness.condition("ChildrenApplied").0, "True");
}

/// A `kubectl edit` of a field the operator sets is reverted; the next reconcile writes nothing.
#[tokio::test]
async fn edited_children_are_reverted() {
    let harness = Harness::new(managed_spec(), true);
    harness.make_ready().await;
    let config_map = format!("/api/v1/namespaces/{NAMESPACE}/configmaps/todo-config");
    let deployment = format!("/apis/apps/v1/namespaces/{NAMESPACE}/deployments/todo-api");
    let mut edited = harness.server.get(&config_map).unwrap();
    edited["data"]["RUST_LOG"] = "trace".into();
    harness.server.insert(&config_map, edited);
    let mut edited = harness.server.get(&deployment).unwrap();
    edited["spec"]["replicas"] = 7.into();
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = "evil:latest".into();
    harness.server.insert(&deployment, edited);

    let (_, requests) = harness.reconcile().await;
    let applied: BTreeSet<String> = writes(&requests)
        .into_iter()
        .filter(|w| w.starts_with("PATCH") && !w.ends_with("/status"))
        .collect();
    assert_eq!(
        applied,
        BTreeSet::from([format!("PATCH {config_map}"), format!("PATCH {deployment}")])
    );
    assert_eq!(
        harness.server.get(&config_map).unwrap()["data"]["RUST_LOG"],
        "info"
    );
    let restored = harness.server.get(&deployment).unwrap();
    assert_eq!(restored["spec"]["replicas"], 2);
    assert_ne!(
        restored["spec"]["template"]["spec"]["containers"][0]["image"],
        "evil:latest"
    );
    harness.complete_rollouts();
    harness.reconcile().await;
    let (_, requests) = harness.reconcile().await;
    assert_eq!(writes(&requests), Vec::<String>::new());
}

/// Status is read after applying: a spec change that rolls the API turns Ready False until the
/// new generation is rolled out, instead of reporting the old rollout's Available.
#[tokio::test]
async fn ready_stays_false_during_a_rollout() {
    let harness = Harness::new(managed_spec(), true);
    harness.make_ready().await;
    harness.edit(|p| p["spec"]["api"] = json!({ "replicas": 3 }));
    harness.reconcile().await;
    assert_eq!(
        harness.condition("ApiAvailable"),
        ("False".into(), "RollingOut".into())
    );
    assert_eq!(harness.condition("Ready").0, "False");
    assert_eq!(
        harness.condition("Reconciling"),
        ("True".into(), "Progressing".into())
    );
    harness.complete_rollouts();
    harness.reconcile().await;
    assert_eq!(harness.condition("Ready").0, "True");
}

/// A referenced Secret that does not exist needs a human: Stalled, not Reconciling forever.
#[tokio::test]
async fn missing_secret_stalls() {
    let spec = json!({
        "database": { "external": { "urlSecretRef": { "name": "db", "key": "url" } } },
        "eventing": { "managed": {} },
    });
    let harness = Harness::new(spec, true);
    harness.reconcile().await;
    assert_eq!(
        harness.condition("Stalled"),
        ("True".into(), "SecretNotFound".into())
    );
    assert!(harness.message("Stalled").contains("db"));
    assert_eq!(harness.condition("Reconciling").0, "False");
}

/// The paused annotation stops every write but the status, which says so; removing it resumes.
#[tokio::test]
async fn paused_platform_is_left_alone_until_resumed() {
    let harness = Harness::new(managed_spec(), true);
    harness.reconcile().await;
    harness.edit(|p| {
        p["metadata"]["annotations"] = json!({ "todoplatform.dev/paused": "true" });
        p["spec"]["logLevel"] = "debug".into();
    });
    let (action, requests) = harness.reconcile().await;
    assert_eq!(writes(&requests), vec![format!("PATCH {PLATFORM}/status")]);
    assert_eq!(
        harness.condition("Paused"),
        ("True".into(), "PausedByAnnotation".into())
    );
    assert_eq!(
        harness.condition("Reconciling"),
        ("False".into(), "PausedByAnnotation".into())
    );
    assert_eq!(
        format!("{action:?}"),
        format!("{:?}", kube::runtime::controller::Action::await_change())
    );
    let (_, requests) = harness.reconcile().await;
    assert_eq!(
        writes(&requests),
        Vec::<String>::new(),
        "paused and settled"
    );

    harness.edit(|p| {
        p["metadata"]["annotations"] = json!({});
    });
    let (_, requests) = harness.reconcile().await;
    assert!(
        writes(&requests)
            .iter()
            .any(|w| w.contains("/configmaps/todo-config")),
        "resumed: the debug log level is applied"
    );
    let status = harness.platform().status.unwrap();
    assert!(status.conditions.iter().all(|c| c.type_ != "Paused"));
}

/// Changing the pull policy changes the migration Job's pod template, which Kubernetes cannot
/// change in place: a Job with a new name replaces the old one.
#[tokio::test]
async fn an_immutable_job_change_replaces_the_job() {
    let harness = Harness::new(managed_spec(), true);
    harness.make_ready().await;
    let old = harness.jobs();
    assert_eq!(old.len(), 1);
    harness.edit(|p| p["spec"]["images"] = json!({ "pullPolicy": "Always" }));
    let (_, requests) = harness.reconcile().await;
    let written = writes(&requests);
    let new = harness.jobs();
    assert_eq!(new.len(), 1);
    assert_ne!(new, old);
    assert!(
        written.contains(&format!("PATCH {}", new[0])),
        "{written:?}"
    );
    assert!(
        written.contains(&format!("DELETE {}", old[0])),
        "{written:?}"
    );
    assert!(!written.contains(&format!("PATCH {}", old[0])));
    assert_eq!(
        harness.condition("MigrationsComplete"),
        ("False".into(), "Running".into())
    );
}

fn redpanda_spec(policy: &str) -> Value {
    json!({
        "database": { "managed": {} },
        "eventing": {
            "external": { "brokers": ["kafka:9092"] },
            "topics": {
                "provisioner": "RedpandaTopic",
                "redpandaClusterRef": "rp",
                "deletionPolicy": policy,
            },
        },
    })
}

fn redpanda_topics(harness: &Harness) -> Vec<Value> {
    harness
        .server
        .paths()
        .into_iter()
        .filter(|p| p.starts_with("/apis/cluster.redpanda.com/"))
        .map(|p| harness.server.get(&p).unwrap())
        .collect()
}

/// With deletionPolicy Retain the Redpanda Topic resources are not owned by the platform (so
/// garbage collection keeps them and their data) but labelled, so status still finds them;
/// with Delete they are owned.
#[tokio::test]
async fn retained_redpanda_topics_are_not_owned() {
    let harness = Harness::new(redpanda_spec("Retain"), true);
    harness
        .server
        .serve_group("cluster.redpanda.com/v1alpha2", &["topics"]);
    harness.reconcile().await;
    let topics = redpanda_topics(&harness);
    assert_eq!(topics.len(), 6);
    for topic in &topics {
        assert!(topic["metadata"]["ownerReferences"].is_null(), "{topic}");
        assert_eq!(
            topic["metadata"]["labels"]["app.kubernetes.io/instance"],
            "todo"
        );
    }
    assert_eq!(
        harness.condition("TopicsReady"),
        ("True".into(), "Provisioned".into())
    );
    let (_, requests) = harness.reconcile().await;
    assert_eq!(writes(&requests), Vec::<String>::new());

    harness.edit(|p| p["spec"]["eventing"]["topics"]["deletionPolicy"] = "Delete".into());
    harness.reconcile().await;
    for topic in redpanda_topics(&harness) {
        assert_eq!(
            topic["metadata"]["ownerReferences"][0]["uid"],
            "platform-uid"
        );
    }
}
