//! The reconciler, one step after the other as in `../shared/DESIGN.md` and the Stackable
//! operators: dereference (read the cluster) → validate (admission rules) → build (pure desired
//! state) → apply (children and topics) → update_status. Each step has its [`Error`] variant, so
//! the errors metric and the conditions say which step failed.
//!
//! - Children are applied with server-side apply (force, one field manager per concern) only
//!   when they are missing or drifted from the desired manifest ([`crate::drift`]), so an
//!   unchanged platform costs no writes and a `kubectl edit` of our fields is reverted.
//! - A child the API server refuses does not stop the others; status is still written and
//!   names it.
//! - Children that are no longer desired (and are controlled by this CR) are deleted.
//! - Deployments roll out only after the release's migration Job succeeded.
//! - Status is computed purely ([`crate::status`]) from what was read after applying, and
//!   written only when it changed.
//! - The `todoplatform.dev/paused` annotation stops all of that but the status.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder};
use kube::runtime::finalizer::{Error as FinalizerError, Event as FinalizerEvent, finalizer};
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;

use crate::build::{
    self, BuildInputs, ChildObject, GeneratedSecrets, SpecError, TopicPlan, TopicProvisioning,
    component_resource, configuration_resource, prometheus_rule_resource, redpanda_topic_resource,
    resiliency_resource, service_monitor_resource, subscription_resource,
};
use crate::crd::{
    TodoPlatform, TodoPlatformSpec, TopicDeletionPolicy, TopicProvisioner, TopicState, TopicStatus,
};
use crate::drift;
use crate::metrics::Metrics;
use crate::names::{Names, PAUSED_ANNOTATION};
use crate::status::{self, ApplyFailure, Capabilities, MigrationState, Observed, TopicOutcome};
use crate::topics::{self, TopicAdmin};
use crate::validation;

/// Finalizer guarding external state (topics) of platforms whose deletion policy is Delete.
pub const FINALIZER: &str = "todoplatform.dev/topics";
/// Field manager of the status subresource.
pub const STATUS_MANAGER: &str = "todo-operator/status";
/// How long discovered CRD availability is trusted before asking again.
const CAPABILITY_TTL: Duration = Duration::from_secs(120);

/// Errors of one reconcile, one variant per step. Each maps to a metric label via
/// [`Error::kind`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The TodoPlatform has no namespace.
    #[error("the TodoPlatform has no namespace")]
    MissingNamespace,
    /// Dereference: reading the platform's children, Secrets or the served CRDs failed.
    #[error("dereference: {0}")]
    Dereference(#[source] kube::Error),
    /// Validate: the spec breaks admission rules the API server did not enforce.
    #[error("invalid spec: {}", .0.join("; "))]
    Validate(Vec<String>),
    /// Build: the desired state cannot be built.
    #[error("build: {0}")]
    Build(#[source] SpecError),
    /// Apply: the API server refused these children; the others were applied.
    #[error("apply: {}", .0.iter().map(|f| format!("{} {}: {}", f.kind, f.name, f.message)).collect::<Vec<_>>().join("; "))]
    Apply(Vec<ApplyFailure>),
    /// Update status: the status subresource could not be written.
    #[error("update status: {0}")]
    UpdateStatus(#[source] kube::Error),
    /// A finalizer step failed.
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
    /// Cleanup could not read what it needs to delete the topics.
    #[error("cleanup: {0}")]
    Cleanup(#[source] kube::Error),
    /// Topic deletion during cleanup failed; the finalizer stays until it succeeds.
    #[error("deleting topics: {0}")]
    TopicCleanup(#[from] crate::topics::TopicError),
}

impl Error {
    /// Label for the errors metric: the step that failed.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingNamespace => "invalid_object",
            Self::Dereference(_) => "dereference",
            Self::Validate(_) => "validate",
            Self::Build(_) => "build",
            Self::Apply(_) => "apply",
            Self::UpdateStatus(_) => "update_status",
            Self::Finalizer(error) => match error.as_ref() {
                FinalizerError::ApplyFailed(inner) | FinalizerError::CleanupFailed(inner) => {
                    inner.kind()
                }
                _ => "finalizer",
            },
            Self::Cleanup(_) => "cleanup",
            Self::TopicCleanup(_) => "topic_cleanup",
        }
    }

    /// Retrying cannot help until the spec is edited (which triggers a reconcile anyway).
    fn awaits_edit(&self) -> bool {
        match self {
            Self::Validate(_) | Self::Build(_) => true,
            Self::Finalizer(error) => matches!(
                error.as_ref(),
                FinalizerError::ApplyFailed(inner) if inner.awaits_edit()
            ),
            _ => false,
        }
    }
}

/// Shared state of the controller.
pub struct Context {
    /// Kubernetes client.
    pub client: Client,
    /// Topic provisioner.
    pub topics: Arc<dyn TopicAdmin>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Kubernetes Events publisher.
    pub recorder: Recorder,
    /// App version for platforms that pin none.
    pub default_version: String,
    capabilities: tokio::sync::Mutex<Option<(Instant, Capabilities)>>,
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// A context reporting Events as `todo-operator` (instance `instance`, e.g. the pod name).
    pub fn new(
        client: Client,
        topics: Arc<dyn TopicAdmin>,
        metrics: Arc<Metrics>,
        instance: Option<String>,
    ) -> Self {
        let reporter = kube::runtime::events::Reporter {
            controller: "todo-operator".into(),
            instance,
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            topics,
            metrics,
            default_version: crate::VERSION.to_owned(),
            capabilities: tokio::sync::Mutex::new(None),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Which optional CRDs exist; cached for a short while so reconciles do not re-ask.
    async fn capabilities(&self) -> Result<Capabilities, kube::Error> {
        let mut cached = self.capabilities.lock().await;
        if let Some((at, capabilities)) = *cached
            && at.elapsed() < CAPABILITY_TTL
        {
            return Ok(capabilities);
        }
        let capabilities = Capabilities {
            dapr: self.serves("dapr.io/v1alpha1", "components").await?
                && self.serves("dapr.io/v2alpha1", "subscriptions").await?,
            redpanda_topics: self
                .serves("cluster.redpanda.com/v1alpha2", "topics")
                .await?,
            service_monitor: self
                .serves("monitoring.coreos.com/v1", "servicemonitors")
                .await?,
            prometheus_rule: self
                .serves("monitoring.coreos.com/v1", "prometheusrules")
                .await?,
        };
        *cached = Some((Instant::now(), capabilities));
        Ok(capabilities)
    }

    async fn serves(&self, group_version: &str, plural: &str) -> Result<bool, kube::Error> {
        match self.client.list_api_group_resources(group_version).await {
            Ok(list) => Ok(list.resources.iter().any(|r| r.name == plural)),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn publish(&self, platform: &TodoPlatform, type_: EventType, reason: &str, note: String) {
        let event = KubeEvent {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: "Reconcile".into(),
            secondary: None,
        };
        if let Err(error) = self
            .recorder
            .publish(&event, &platform.object_ref(&()))
            .await
        {
            tracing::warn!(%error, "could not publish event");
        }
    }
}

/// Every kind the operator may create, with whether the cluster serves it.
fn managed_kinds(capabilities: Capabilities) -> Vec<(ApiResource, bool)> {
    let typed = [
        ApiResource::erase::<ConfigMap>(&()),
        ApiResource::erase::<Secret>(&()),
        ApiResource::erase::<ServiceAccount>(&()),
        ApiResource::erase::<Role>(&()),
        ApiResource::erase::<RoleBinding>(&()),
        ApiResource::erase::<Service>(&()),
        ApiResource::erase::<StatefulSet>(&()),
        ApiResource::erase::<Job>(&()),
        ApiResource::erase::<Deployment>(&()),
        ApiResource::erase::<HorizontalPodAutoscaler>(&()),
        ApiResource::erase::<PodDisruptionBudget>(&()),
        ApiResource::erase::<Ingress>(&()),
        ApiResource::erase::<NetworkPolicy>(&()),
    ]
    .map(|resource| (resource, true));
    let optional = [
        (component_resource(), capabilities.dapr),
        (subscription_resource(), capabilities.dapr),
        (configuration_resource(), capabilities.dapr),
        (resiliency_resource(), capabilities.dapr),
        (redpanda_topic_resource(), capabilities.redpanda_topics),
        (service_monitor_resource(), capabilities.service_monitor),
        (prometheus_rule_resource(), capabilities.prometheus_rule),
    ];
    typed.into_iter().chain(optional).collect()
}

/// Children that exist in the cluster, by kind.
type Existing = BTreeMap<String, Vec<DynamicObject>>;

fn kind_key(resource: &ApiResource) -> String {
    format!("{}/{}", resource.api_version, resource.kind)
}

async fn list_children(
    client: &Client,
    names: &Names,
    capabilities: Capabilities,
) -> Result<Existing, kube::Error> {
    let params = ListParams::default().labels(&names.children_selector());
    let mut existing = Existing::new();
    for (resource, served) in managed_kinds(capabilities) {
        if !served {
            continue;
        }
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), &names.namespace, &resource);
        existing.insert(kind_key(&resource), api.list(&params).await?.items);
    }
    Ok(existing)
}

fn typed<K: Resource<DynamicType = ()> + serde::de::DeserializeOwned>(
    existing: &Existing,
) -> Vec<K> {
    existing
        .get(&kind_key(&ApiResource::erase::<K>(&())))
        .into_iter()
        .flatten()
        .filter_map(|object| object.clone().try_parse::<K>().ok())
        .collect()
}

/// User Secrets the spec references (not the ones the operator generates).
pub fn referenced_secrets(spec: &TodoPlatformSpec) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    names.extend(
        spec.database
            .external
            .iter()
            .map(|e| e.url_secret_ref.name.clone()),
    );
    names.extend(spec.auth.jwt_secret_ref.iter().map(|r| r.name.clone()));
    if let Some(external) = &spec.eventing.external {
        names.extend(external.sasl.iter().map(|s| s.secret_name.clone()));
        names.extend(
            external
                .tls
                .iter()
                .filter_map(|t| t.ca_secret_ref.as_ref().map(|r| r.name.clone())),
        );
    }
    names.extend(
        spec.notifications
            .smtp
            .iter()
            .map(|s| s.url_secret_ref.name.clone()),
    );
    names.extend(
        spec.notifications
            .webhook
            .iter()
            .map(|w| w.signing_secret_ref.name.clone()),
    );
    names.sort();
    names.dedup();
    names
}

fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 24]>())
}

/// Read back a value the operator generated earlier, so it is never regenerated.
fn generated_value(existing: &Existing, name: &str, key: &str) -> Option<String> {
    typed::<Secret>(existing)
        .into_iter()
        .find(|s| s.metadata.name.as_deref() == Some(name))
        .and_then(|s| s.data?.remove(key))
        .and_then(|bytes| String::from_utf8(bytes.0).ok())
}

/// The Secrets whose data the Kafka admin provisioner needs (SASL credentials, CA bundle).
fn kafka_credential_secrets(spec: &TodoPlatformSpec) -> Vec<String> {
    if spec.eventing.topics.provisioner == TopicProvisioner::KafkaAdmin {
        topics::credential_secrets(spec.eventing.external.as_ref())
    } else {
        Vec::new()
    }
}

/// Generated values and referenced Secrets' versions. Returns the build inputs,
/// the referenced Secrets that do not exist, and the Kafka credential Secrets (read in full; every
/// other Secret is read as metadata only).
async fn dereference_secrets(
    ctx: &Context,
    platform: &TodoPlatform,
    names: &Names,
    existing: &Existing,
) -> Result<(BuildInputs, Vec<String>, BTreeMap<String, Secret>), kube::Error> {
    let generated = GeneratedSecrets {
        jwt_secret: generated_value(existing, &names.jwt_secret(), "secret")
            .unwrap_or_else(random_secret),
        postgres_password: generated_value(existing, &names.postgres(), "password")
            .unwrap_or_else(random_secret),
        app_token: generated_value(existing, &names.app_token_secret(), "token")
            .unwrap_or_else(random_secret),
    };
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &names.namespace);
    let mut versions = BTreeMap::new();
    let mut missing = Vec::new();
    let with_data = kafka_credential_secrets(&platform.spec);
    let mut kafka_secrets = BTreeMap::new();
    for name in referenced_secrets(&platform.spec) {
        let metadata = if with_data.contains(&name) {
            secrets.get_opt(&name).await?.map(|secret| {
                let metadata = secret.metadata.clone();
                kafka_secrets.insert(name.clone(), secret);
                metadata
            })
        } else {
            secrets.get_metadata_opt(&name).await?.map(|s| s.metadata)
        };
        match metadata {
            Some(metadata) => {
                versions.insert(name, metadata.resource_version.unwrap_or_default());
            }
            None => missing.push(name),
        }
    }
    Ok((
        BuildInputs {
            default_version: ctx.default_version.clone(),
            generated,
            referenced_secret_versions: versions,
        },
        missing,
        kafka_secrets,
    ))
}

fn controlled_by(object: &DynamicObject, uid: &str) -> bool {
    object
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.uid == uid && o.controller == Some(true))
}

/// Reconcile entry point for the Controller. Objects that fail to deserialize are reported and
/// skipped until they change, so one bad object cannot wedge the controller.
pub async fn reconcile(
    guard: Arc<DeserializeGuard<TodoPlatform>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let started = Instant::now();
    let in_flight = ctx.metrics.reconcile_started();
    let result = match &guard.0 {
        Ok(platform) => {
            let platform = Arc::new(platform.clone());
            let result = reconcile_platform(platform.clone(), &ctx).await;
            if let Err(error) = &result {
                ctx.publish(
                    &platform,
                    EventType::Warning,
                    "ReconcileFailed",
                    error.to_string(),
                )
                .await;
            }
            result
        }
        Err(invalid) => {
            tracing::warn!(
                name = invalid.metadata.name.as_deref().unwrap_or_default(),
                namespace = invalid.metadata.namespace.as_deref().unwrap_or_default(),
                error = %invalid.error,
                "ignoring a TodoPlatform that does not deserialize until it changes"
            );
            ctx.metrics.record_invalid_object();
            Ok(Action::await_change())
        }
    };
    let key = guard.meta().uid.clone().unwrap_or_default();
    if result.is_ok() {
        ctx.failures.lock().expect("failure map lock").remove(&key);
    }
    drop(in_flight);
    ctx.metrics
        .record_reconcile(started.elapsed(), result.as_ref().err().map(Error::kind));
    result
}

/// Backoff with jitter for transient errors: 5 s doubling per consecutive failure, at most 5
/// minutes, plus up to 20 % random jitter so failing platforms do not retry in lockstep.
pub fn error_policy(
    guard: Arc<DeserializeGuard<TodoPlatform>>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    if error.awaits_edit() {
        tracing::warn!(%error, "reconcile failed; waiting for the TodoPlatform to change");
        return Action::await_change();
    }
    let key = guard.meta().uid.clone().unwrap_or_default();
    let attempts = {
        let mut failures = ctx.failures.lock().expect("failure map lock");
        let attempts = failures.entry(key).or_insert(0);
        *attempts = attempts.saturating_add(1);
        *attempts
    };
    let mut delay = backoff(attempts, rand::random::<f64>());
    // A platform being deleted retries its cleanup on a short cycle: the failure count it carried
    // through its life would otherwise put the next try minutes past TOPIC_CLEANUP_PATIENCE, and
    // hold its namespace in Terminating that long.
    if guard.meta().deletion_timestamp.is_some() {
        delay = delay.min(DELETION_RETRY);
    }
    tracing::warn!(%error, attempts, ?delay, "reconcile failed; retrying");
    Action::requeue(delay)
}

/// The backoff for the `attempts`-th consecutive failure, `jitter` in [0, 1).
pub fn backoff(attempts: u32, jitter: f64) -> Duration {
    let base = Duration::from_secs(5).saturating_mul(1 << attempts.saturating_sub(1).min(6));
    let base = base.min(Duration::from_secs(300));
    base + base.mul_f64(0.2 * jitter.clamp(0.0, 1.0))
}

fn wants_topic_cleanup(spec: &TodoPlatformSpec) -> bool {
    spec.eventing.topics.deletion_policy == TopicDeletionPolicy::Delete
        && spec.eventing.topics.provisioner == TopicProvisioner::KafkaAdmin
}

async fn reconcile_platform(platform: Arc<TodoPlatform>, ctx: &Context) -> Result<Action, Error> {
    let namespace = platform.namespace().ok_or(Error::MissingNamespace)?;
    let api: Api<TodoPlatform> = Api::namespaced(ctx.client.clone(), &namespace);
    let has_finalizer = platform.finalizers().iter().any(|f| f == FINALIZER);
    if wants_topic_cleanup(&platform.spec) || has_finalizer {
        finalizer(&api, FINALIZER, platform, |event| async move {
            match event {
                FinalizerEvent::Apply(platform) => reconcile_live(platform, ctx).await,
                FinalizerEvent::Cleanup(platform) => cleanup(platform, ctx).await,
            }
        })
        .await
        .map_err(|e| Error::Finalizer(Box::new(e)))
    } else if platform.metadata.deletion_timestamp.is_some() {
        // Children go with the CR through their owner references.
        Ok(Action::await_change())
    } else {
        reconcile_live(platform, ctx).await
    }
}

/// Deletion with policy Delete: remove the platform's topics, then let the finalizer go.
///
/// When the brokers refuse us (credentials, certificate) the topics are kept and the finalizer
/// still goes, with a Warning Event naming the topics and the cause: retrying cannot fix that
/// while the platform is being deleted (a namespace deletion removes the credentials Secret
/// alongside it), and waiting would hold the namespace in Terminating. An unreachable broker is
/// retried with backoff for [`TOPIC_CLEANUP_PATIENCE`], then handled the same way.
async fn cleanup(platform: Arc<TodoPlatform>, ctx: &Context) -> Result<Action, Error> {
    if wants_topic_cleanup(&platform.spec) {
        // Topic names and brokers depend on the spec alone, so offline inputs suffice here.
        let inputs = crate::render::offline_inputs();
        if let Ok(desired) = build::build(&platform, &inputs) {
            let names: Vec<String> = desired
                .topics
                .topics
                .iter()
                .map(|t| t.name.clone())
                .collect();
            let namespace = platform.namespace().ok_or(Error::MissingNamespace)?;
            let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
            let mut credentials = BTreeMap::new();
            for name in kafka_credential_secrets(&platform.spec) {
                if let Some(secret) = secrets.get_opt(&name).await.map_err(Error::Cleanup)? {
                    credentials.insert(name, secret);
                }
            }
            let cluster = topics::cluster_access(
                desired.topics.brokers.clone(),
                platform.spec.eventing.external.as_ref(),
                &credentials,
            );
            let deleted = match cluster {
                Ok(cluster) => ctx.topics.delete(&cluster, &names).await,
                Err(error) => Err(error),
            };
            match deleted {
                Ok(()) => {
                    ctx.publish(
                        &platform,
                        EventType::Normal,
                        "TopicsDeleted",
                        format!("deleted topics {}", names.join(", ")),
                    )
                    .await;
                }
                Err(error) if error.needs_intervention() => {
                    tracing::warn!(%error, topics = ?names, "keeping topics: the brokers refused the deletion");
                    ctx.publish(
                        &platform,
                        EventType::Warning,
                        "TopicsNotDeleted",
                        format!(
                            "kept topics {} (delete them by hand): {error}",
                            names.join(", ")
                        ),
                    )
                    .await;
                }
                Err(error) if deleting_for(&platform) > TOPIC_CLEANUP_PATIENCE => {
                    tracing::warn!(%error, topics = ?names, "keeping topics: the brokers stayed unreachable");
                    ctx.publish(
                        &platform,
                        EventType::Warning,
                        "TopicsNotDeleted",
                        format!(
                            "kept topics {} (delete them by hand): the brokers stayed unreachable for {}s: {error}",
                            names.join(", "),
                            TOPIC_CLEANUP_PATIENCE.as_secs()
                        ),
                    )
                    .await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
    Ok(Action::await_change())
}

/// The longest wait between cleanup attempts of a platform being deleted.
const DELETION_RETRY: Duration = Duration::from_secs(10);

/// How long deletion retries unreachable brokers before it keeps the topics and lets the platform
/// go. Without a bound, a namespace whose Kafka is gone for good would stay Terminating forever.
const TOPIC_CLEANUP_PATIENCE: Duration = Duration::from_secs(90);

/// How long ago the platform's deletion was requested.
fn deleting_for(platform: &TodoPlatform) -> Duration {
    platform
        .metadata
        .deletion_timestamp
        .as_ref()
        .and_then(|since| {
            let elapsed = Timestamp::now().duration_since(since.0);
            Duration::try_from(elapsed).ok()
        })
        .unwrap_or_default()
}

/// What the dereference step read from the cluster.
struct Dereferenced {
    capabilities: Capabilities,
    /// The platform's children as listed before applying.
    existing: Existing,
    inputs: BuildInputs,
    missing_secrets: Vec<String>,
    kafka_secrets: BTreeMap<String, Secret>,
}

/// Dereference: served optional CRDs, the platform's children, generated values and
/// referenced Secrets.
async fn dereference(
    ctx: &Context,
    platform: &TodoPlatform,
    names: &Names,
) -> Result<Dereferenced, kube::Error> {
    let capabilities = ctx.capabilities().await?;
    let existing = list_children(&ctx.client, names, capabilities).await?;
    let (inputs, missing_secrets, kafka_secrets) =
        dereference_secrets(ctx, platform, names, &existing).await?;
    Ok(Dereferenced {
        capabilities,
        existing,
        inputs,
        missing_secrets,
        kafka_secrets,
    })
}

/// Whether the paused annotation stops reconciliation of children.
fn is_paused(platform: &TodoPlatform) -> bool {
    platform
        .annotations()
        .get(PAUSED_ANNOTATION)
        .map(String::as_str)
        == Some("true")
}

/// One reconcile of a platform that is not being deleted: every step in order. A step failing
/// before apply still writes a status naming it, so an old Ready=True never stays.
async fn reconcile_live(platform: Arc<TodoPlatform>, ctx: &Context) -> Result<Action, Error> {
    if is_paused(&platform) {
        write_status(&platform, ctx, status::paused(&platform, now()))
            .await
            .map_err(Error::UpdateStatus)?;
        // Removing the annotation is a change of the TodoPlatform, which triggers a reconcile.
        return Ok(Action::await_change());
    }
    let namespace = platform.namespace().ok_or(Error::MissingNamespace)?;
    let names = Names::new(&platform.name_any(), &namespace);
    let world = match dereference(ctx, &platform, &names).await {
        Ok(world) => world,
        Err(error) => return report_step_failure(&platform, ctx, Error::Dereference(error)).await,
    };
    if let Err(violations) = validation::validate(&platform) {
        return report_step_failure(&platform, ctx, Error::Validate(violations)).await;
    }
    let desired = match build::build(&platform, &world.inputs) {
        Ok(desired) => desired,
        Err(error) => return report_step_failure(&platform, ctx, Error::Build(error)).await,
    };

    let migration_job = desired
        .migration_job
        .metadata
        .name
        .clone()
        .unwrap_or_default();
    let rollout_allowed = status::migration_state(&typed(&world.existing), &migration_job)
        == MigrationState::Succeeded;
    let desired_deployments: Vec<String> = desired
        .deployments
        .iter()
        .filter_map(|d| d.metadata.name.clone())
        .collect();
    let topic_plan = desired.topics.clone();
    let url = desired.url.clone();
    let ingress_desired = desired.ingress.is_some();
    let service_monitor_desired = desired.service_monitor.is_some();
    let prometheus_rule_desired = desired.prometheus_rule.is_some();
    let managed_postgres = desired
        .managed_postgres
        .as_ref()
        .and_then(|m| m.stateful_set.metadata.name.clone());

    let mut live = world.existing;
    let apply_failures = apply(
        ctx,
        &platform,
        desired.into_children(),
        &mut live,
        world.capabilities,
        rollout_allowed,
    )
    .await;
    let topics = provision_topics(
        ctx,
        &platform,
        &topic_plan,
        world.capabilities,
        &world.kafka_secrets,
        &live,
    )
    .await;

    let topics_failed = matches!(topics, TopicOutcome::Failed { .. });
    let topic_retry = topic_retry_delay(ctx, &platform, topics_failed);
    let observed = Observed {
        capabilities: world.capabilities,
        missing_secrets: world.missing_secrets,
        migration_job,
        jobs: typed(&live),
        deployments: typed(&live),
        desired_deployments,
        stateful_sets: typed(&live),
        managed_postgres,
        ingresses: typed(&live),
        ingress_desired,
        service_monitor_desired,
        prometheus_rule_desired,
        apply_failures: apply_failures.clone(),
        topics,
        url,
    };
    let new_status = status::compute(&platform, &observed, now());
    let ready = status::is_ready(&new_status);
    write_status(&platform, ctx, new_status)
        .await
        .map_err(Error::UpdateStatus)?;
    if !apply_failures.is_empty() {
        return Err(Error::Apply(apply_failures));
    }
    Ok(if ready {
        Action::requeue(Duration::from_secs(600))
    } else if let Some(delay) = topic_retry {
        Action::requeue(delay)
    } else {
        Action::requeue(Duration::from_secs(120))
    })
}

/// The API server's verdict on one child, for the status.
fn apply_failure(kind: &str, name: &str, error: &kube::Error) -> ApplyFailure {
    let (message, needs_human) = match error {
        // 409 (conflict) and 429 (throttled) pass; other 4xx refuse the object itself
        // (invalid, immutable field, forbidden by RBAC or a webhook).
        kube::Error::Api(status) => (
            status.message.clone(),
            (400..500).contains(&status.code) && !matches!(status.code, 409 | 429),
        ),
        other => (other.to_string(), false),
    };
    ApplyFailure {
        kind: kind.to_owned(),
        name: name.to_owned(),
        message,
        needs_human,
    }
}

/// A managed StatefulSet refused because its volume claim templates changed: say which spec field
/// did it and what to do, since the API server's message speaks only of the StatefulSet.
fn explain_immutable_storage(platform: &TodoPlatform, failure: &mut ApplyFailure) {
    if failure.kind != "StatefulSet" || !failure.message.contains("volumeClaimTemplates") {
        return;
    }
    let names = Names::new(
        &platform.name_any(),
        &platform.namespace().unwrap_or_default(),
    );
    let field = if failure.name == names.postgres() {
        "spec.database.managed"
    } else if failure.name == names.redpanda() {
        "spec.eventing.managed"
    } else {
        return;
    };
    failure.message = format!(
        "{field}.storage or {field}.storageClassName changed, but the volume claims of StatefulSet \
         {name} cannot change in place: set them back (to grow the volume, resize \
         PersistentVolumeClaim data-{name}-0 itself if its StorageClass allows expansion). The API \
         server said: {message}",
        name = failure.name,
        message = failure.message,
    );
}

/// Apply: every served child that is missing or drifted (Deployments only once this release's
/// migration succeeded), then delete the children this CR controls that are no longer desired.
/// `live` is updated with what the API server returned, so status reads the state after this
/// reconcile's writes. One refused child never stops the others: failures are returned.
async fn apply(
    ctx: &Context,
    platform: &TodoPlatform,
    children: Vec<ChildObject>,
    live: &mut Existing,
    capabilities: Capabilities,
    rollout_allowed: bool,
) -> Vec<ApplyFailure> {
    let namespace = platform.namespace().unwrap_or_default();
    let kinds: BTreeMap<String, (ApiResource, bool)> = managed_kinds(capabilities)
        .into_iter()
        .map(|(resource, served)| (kind_key(&resource), (resource, served)))
        .collect();
    let mut failures = Vec::new();
    let mut wanted: HashSet<(String, String)> = HashSet::new();
    for child in children {
        let kind = kind_key(&child.resource);
        wanted.insert((kind.clone(), child.name.clone()));
        if !kinds.get(&kind).is_some_and(|(_, served)| *served)
            || (child.resource.kind == "Deployment" && !rollout_allowed)
        {
            continue;
        }
        let objects = live.entry(kind).or_default();
        let current = objects
            .iter()
            .position(|o| o.metadata.name.as_deref() == Some(child.name.as_str()));
        if let Some(index) = current {
            let current = serde_json::to_value(&objects[index]).expect("objects serialize");
            if !drift::drifted(&child.manifest, &current) {
                continue;
            }
        }
        let api: Api<DynamicObject> =
            Api::namespaced_with(ctx.client.clone(), &namespace, &child.resource);
        let params = PatchParams::apply(child.concern.field_manager()).force();
        match api
            .patch(&child.name, &params, &Patch::Apply(&child.manifest))
            .await
        {
            Ok(applied) => {
                ctx.metrics.record_write("apply");
                tracing::info!(kind = %child.resource.kind, name = %child.name, "applied");
                match current {
                    Some(index) => objects[index] = applied,
                    None => objects.push(applied),
                }
            }
            Err(error) => {
                tracing::warn!(kind = %child.resource.kind, name = %child.name, %error, "apply failed");
                let mut failure = apply_failure(&child.resource.kind, &child.name, &error);
                explain_immutable_storage(platform, &mut failure);
                failures.push(failure);
            }
        }
    }

    let uid = platform.uid().unwrap_or_default();
    for (kind, (resource, _)) in &kinds {
        let Some(objects) = live.get_mut(kind) else {
            continue;
        };
        let orphans: Vec<String> = objects
            .iter()
            .filter(|o| controlled_by(o, &uid) && !wanted.contains(&(kind.clone(), o.name_any())))
            .map(ResourceExt::name_any)
            .collect();
        let api: Api<DynamicObject> =
            Api::namespaced_with(ctx.client.clone(), &namespace, resource);
        for name in orphans {
            match api.delete(&name, &DeleteParams::background()).await {
                Ok(_) => {
                    ctx.metrics.record_write("delete");
                    tracing::info!(kind = %resource.kind, %name, "deleted child no longer desired");
                    objects.retain(|o| o.metadata.name.as_deref() != Some(name.as_str()));
                }
                Err(error) => failures.push(apply_failure(&resource.kind, &name, &error)),
            }
        }
    }
    failures
}

/// Topics: the provisioner's verdict for each planned topic. Redpanda `Topic` resources are
/// read back from the cluster (owned or, with deletionPolicy Retain, only labelled), so their
/// operator's Ready condition shows here.
async fn provision_topics(
    ctx: &Context,
    platform: &TodoPlatform,
    topic_plan: &TopicProvisioning,
    capabilities: Capabilities,
    kafka_secrets: &BTreeMap<String, Secret>,
    live: &Existing,
) -> TopicOutcome {
    match topic_plan.provisioner {
        TopicProvisioner::External => TopicOutcome::NotManaged,
        TopicProvisioner::RedpandaTopic if !capabilities.redpanda_topics => {
            TopicOutcome::RedpandaOperatorMissing
        }
        TopicProvisioner::RedpandaTopic => {
            let resources = live
                .get(&kind_key(&redpanda_topic_resource()))
                .map_or(&[][..], Vec::as_slice);
            TopicOutcome::Provisioned(redpanda_topic_statuses(&topic_plan.topics, resources))
        }
        TopicProvisioner::KafkaAdmin => {
            let ensured = match topics::cluster_access(
                topic_plan.brokers.clone(),
                platform.spec.eventing.external.as_ref(),
                kafka_secrets,
            ) {
                Ok(cluster) => ctx.topics.ensure(&cluster, &topic_plan.topics).await,
                Err(error) => Err(error),
            };
            match ensured {
                Ok(statuses) => TopicOutcome::Provisioned(statuses),
                Err(error) => TopicOutcome::Failed {
                    reason: error.reason(),
                    message: error.to_string(),
                },
            }
        }
    }
}

/// Each planned topic's state from its Redpanda `Topic` resource: Failed when the resource is
/// missing or its operator reports Ready=False, else Delegated.
pub fn redpanda_topic_statuses(
    plans: &[TopicPlan],
    resources: &[DynamicObject],
) -> Vec<TopicStatus> {
    plans
        .iter()
        .map(|plan| {
            let resource = resources.iter().find(|r| {
                r.data["spec"]["overwriteTopicName"].as_str() == Some(plan.name.as_str())
            });
            let not_ready = resource.and_then(|r| {
                r.data["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| c["type"] == "Ready" && c["status"] == "False")
                    .map(|c| c["message"].as_str().unwrap_or_default().to_owned())
            });
            let (state, message) = match (resource, not_ready) {
                (None, _) => (
                    TopicState::Failed,
                    Some("its Topic resource does not exist".to_owned()),
                ),
                (Some(_), Some(message)) => (TopicState::Failed, Some(message)),
                (Some(_), None) => (TopicState::Delegated, None),
            };
            TopicStatus {
                name: plan.name.clone(),
                partitions: Some(plan.partitions),
                state,
                message,
            }
        })
        .collect()
}

/// Failed topic provisioning is reported in status (the reconcile itself succeeds), so it is
/// retried with the reconcile backoff counted separately: a wrong password or an unreachable
/// broker is asked again after 5 s, 10 s, ... up to 5 minutes, not hammered at a fixed rate.
fn topic_retry_delay(ctx: &Context, platform: &TodoPlatform, failed: bool) -> Option<Duration> {
    let key = format!("{}/topics", platform.uid().unwrap_or_default());
    let mut failures = ctx.failures.lock().expect("failure map lock");
    if !failed {
        failures.remove(&key);
        return None;
    }
    let attempts = failures.entry(key).or_insert(0);
    *attempts = attempts.saturating_add(1);
    Some(backoff(*attempts, rand::random::<f64>()))
}

fn now() -> Time {
    let seconds = Timestamp::now().as_second();
    Time(Timestamp::from_second(seconds).expect("the current second is a valid timestamp"))
}

/// Patch the status subresource when it differs; publish an Event when Ready flips.
async fn write_status(
    platform: &TodoPlatform,
    ctx: &Context,
    new_status: crate::crd::TodoPlatformStatus,
) -> Result<(), kube::Error> {
    if platform.status.as_ref() == Some(&new_status) {
        return Ok(());
    }
    let was_ready = platform.status.as_ref().is_some_and(status::is_ready);
    let ready = status::is_ready(&new_status);
    let reason = new_status
        .conditions
        .iter()
        .find(|c| c.type_ == status::types::READY)
        .map(|c| (c.reason.clone(), c.message.clone()));
    let api: Api<TodoPlatform> = Api::namespaced(
        ctx.client.clone(),
        &platform.namespace().unwrap_or_default(),
    );
    let patch = json!({
        "apiVersion": "todoplatform.dev/v1alpha1",
        "kind": "TodoPlatform",
        "status": new_status,
    });
    api.patch_status(
        &platform.name_any(),
        &PatchParams::apply(STATUS_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    ctx.metrics.record_write("status");
    if was_ready != ready
        && let Some((reason, message)) = reason
    {
        let type_ = if ready {
            EventType::Normal
        } else {
            EventType::Warning
        };
        ctx.publish(platform, type_, &reason, message).await;
    }
    Ok(())
}

/// A step before apply failed: say which in Ready/Reconciling/Stalled (best effort: the API may
/// be what failed), then return the error for the metrics and the retry policy.
async fn report_step_failure(
    platform: &TodoPlatform,
    ctx: &Context,
    error: Error,
) -> Result<Action, Error> {
    let reason = match error {
        Error::Validate(_) | Error::Build(_) => status::reasons::INVALID_SPEC,
        _ => status::reasons::DEREFERENCE_FAILED,
    };
    let new_status = status::step_failed(
        platform,
        reason,
        &error.to_string(),
        error.awaits_edit(),
        now(),
    );
    if let Err(write_error) = write_status(platform, ctx, new_status).await {
        tracing::warn!(%write_error, "could not report the failed step in status");
    }
    Err(error)
}

/// Run the controller until `shutdown` resolves. Watches: TodoPlatforms (with a deserialize
/// guard), the owned kinds filtered by the managed-by label, and Secrets to react to referenced
/// ones. Owned kinds and Secrets are watched as metadata only (`PartialObjectMetadata` lists and
/// watches): a trigger needs no more, Secret data never crosses the wire, and an operator start
/// does not download and parse every owned object's spec at once (the reconcile reads children
/// itself). With `namespace`, every watch is limited to it, so a Role in that namespace is all it
/// needs.
pub async fn run(
    ctx: Arc<Context>,
    concurrency: u16,
    namespace: Option<&str>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    use futures::StreamExt;
    use kube::core::PartialObjectMeta;
    use kube::runtime::{Controller, reflector::ObjectRef, watcher};

    let client = ctx.client.clone();
    let owned = watcher::Config::default().labels(&format!(
        "{}={}",
        crate::names::MANAGED_BY_LABEL,
        crate::names::MANAGED_BY
    ));
    fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        match namespace {
            Some(namespace) => Api::namespaced(client.clone(), namespace),
            None => Api::all(client.clone()),
        }
    }
    let platforms: Api<DeserializeGuard<TodoPlatform>> = scoped(&client, namespace);
    let controller = Controller::new(platforms, watcher::Config::default().any_semantic());
    let store = controller.store();
    ctx.metrics.watch_platforms(store.clone());
    // Api<PartialObjectMeta<K>> lists and watches metadata only.
    controller
        .owns(
            scoped::<PartialObjectMeta<Deployment>>(&client, namespace),
            owned.clone(),
        )
        .owns(
            scoped::<PartialObjectMeta<StatefulSet>>(&client, namespace),
            owned.clone(),
        )
        .owns(
            scoped::<PartialObjectMeta<Job>>(&client, namespace),
            owned.clone(),
        )
        .owns(
            scoped::<PartialObjectMeta<Service>>(&client, namespace),
            owned.clone(),
        )
        .owns(
            scoped::<PartialObjectMeta<ConfigMap>>(&client, namespace),
            owned.clone(),
        )
        .owns(
            scoped::<PartialObjectMeta<Ingress>>(&client, namespace),
            owned,
        )
        .watches(
            scoped::<PartialObjectMeta<Secret>>(&client, namespace),
            watcher::Config::default(),
            move |secret| {
                let namespace = secret.metadata.namespace.clone().unwrap_or_default();
                let name = secret.metadata.name.clone().unwrap_or_default();
                store
                    .state()
                    .into_iter()
                    .filter(|guard| guard.meta().namespace.as_deref() == Some(namespace.as_str()))
                    .filter(|guard| match &guard.0 {
                        Ok(platform) => {
                            let names = Names::new(&platform.name_any(), &namespace);
                            referenced_secrets(&platform.spec).contains(&name)
                                || name == names.jwt_secret()
                                || name == names.postgres()
                        }
                        Err(_) => false,
                    })
                    .map(|guard| ObjectRef::from_obj(&*guard))
                    .collect::<Vec<_>>()
            },
        )
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "controller event");
            }
        })
        .await;
}
