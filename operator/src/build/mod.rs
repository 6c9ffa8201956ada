//! Pure desired-state builders: a TodoPlatform plus what the operator read from the cluster in,
//! the full set of child objects out. No client, no clock, no randomness — the same inputs always
//! produce the same objects, which is what makes `render`, the fixture tests and the no-write
//! reconcile possible.

mod dapr;
mod managed;
mod monitoring;
mod network;
mod workloads;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{ApiResource, DynamicObject};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::crd::{TodoPlatform, TopicDeletionPolicy, TopicProvisioner};
use crate::names::{Names, Stream, WorkerRole};

pub use dapr::{
    component_resource, configuration_resource, redpanda_topic_resource, resiliency_resource,
    service_monitor_resource, subscription_resource,
};
pub use monitoring::{DASHBOARDS, GRAFANA_DASHBOARD_LABEL, prometheus_rule_resource};

/// Everything the builders need beyond the spec; gathered by the controller's dereference step
/// (or fixed by `render`).
#[derive(Clone, Debug)]
pub struct BuildInputs {
    /// Version used when the spec pins none (the operator's own version).
    pub default_version: String,
    /// Secret values the operator generates once and then reads back from the cluster.
    pub generated: GeneratedSecrets,
    /// resourceVersion of each user Secret the platform references, so a rotated Secret
    /// changes the config hash and rolls the pods.
    pub referenced_secret_versions: BTreeMap<String, String>,
}

/// Values the operator generates and keeps (never regenerated while the Secret exists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedSecrets {
    /// JWT signing secret, used only when the spec references none.
    pub jwt_secret: String,
    /// Password of the managed PostgreSQL.
    pub postgres_password: String,
    /// Dapr app API token guarding todo-api's internal routes.
    pub app_token: String,
}

/// Field managers, one per concern, so `kubectl get -o yaml --show-managed-fields` tells which
/// part of the operator owns a field and concerns never fight over one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Concern {
    /// ConfigMap, generated Secrets.
    Config,
    /// ServiceAccounts, Role, RoleBinding.
    Rbac,
    /// Dapr Components, Subscriptions, Configuration, Resiliency.
    Dapr,
    /// Redpanda Topic resources.
    Topics,
    /// The migration Job.
    Migrations,
    /// Deployments, Services, HPA, PDB.
    Workloads,
    /// Ingress and NetworkPolicies.
    Network,
    /// ServiceMonitor, PrometheusRule, dashboards ConfigMap.
    Monitoring,
    /// Managed PostgreSQL and Redpanda.
    ManagedDependencies,
}

impl Concern {
    /// The SSA field manager name.
    pub fn field_manager(self) -> &'static str {
        match self {
            Self::Config => "todo-operator/config",
            Self::Rbac => "todo-operator/rbac",
            Self::Dapr => "todo-operator/dapr",
            Self::Topics => "todo-operator/topics",
            Self::Migrations => "todo-operator/migrations",
            Self::Workloads => "todo-operator/workloads",
            Self::Network => "todo-operator/network",
            Self::Monitoring => "todo-operator/monitoring",
            Self::ManagedDependencies => "todo-operator/managed-dependencies",
        }
    }
}

/// A managed single-node dependency (PostgreSQL or Redpanda).
#[derive(Clone, Debug)]
pub struct ManagedDependency {
    /// The single-replica StatefulSet.
    pub stateful_set: StatefulSet,
    /// Its headless Service.
    pub service: Service,
}

/// One Kafka topic the admin provisioner must ensure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicPlan {
    /// Full topic name.
    pub name: String,
    /// Desired partitions (grown, never shrunk).
    pub partitions: i32,
    /// Replication factor at creation.
    pub replication_factor: i16,
    /// Topic configs kept in sync (`retention.ms`, `cleanup.policy`).
    pub configs: BTreeMap<String, String>,
}

/// How topics are taken care of for this platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicProvisioning {
    /// Who creates topics.
    pub provisioner: TopicProvisioner,
    /// Every topic with its settings.
    pub topics: Vec<TopicPlan>,
    /// Bootstrap brokers for the admin protocol.
    pub brokers: Vec<String>,
    /// Delete topics when the CR is deleted.
    pub delete_on_cleanup: bool,
}

/// The complete desired state of one platform. Applied by destructuring every field, so adding
/// a child here without applying it fails to compile.
#[derive(Clone, Debug)]
pub struct DesiredState {
    /// Non-secret application settings (envFrom).
    pub config_map: ConfigMap,
    /// Secrets the operator generates (JWT, managed PostgreSQL credentials).
    pub generated_secrets: Vec<Secret>,
    /// ServiceAccounts of the API and the workers.
    pub service_accounts: Vec<ServiceAccount>,
    /// Lets the apps' Dapr sidecars read the platform's Secrets (secretstores.kubernetes).
    pub secret_reader_role: Role,
    /// Binds the secret reader Role to the apps' ServiceAccounts.
    pub secret_reader_binding: RoleBinding,
    /// Dapr Components: pubsub, state store, cron binding, secret store.
    pub dapr_components: Vec<DynamicObject>,
    /// Dapr Subscriptions (v2alpha1) with dead-letter topics.
    pub dapr_subscriptions: Vec<DynamicObject>,
    /// Dapr Configuration (tracing, mTLS, metrics).
    pub dapr_configuration: DynamicObject,
    /// Dapr Resiliency (retries, timeouts, circuit breakers).
    pub dapr_resiliency: DynamicObject,
    /// Redpanda operator Topic resources (provisioner RedpandaTopic only).
    pub redpanda_topics: Vec<DynamicObject>,
    /// Database migrations; Deployments are rolled out only after it succeeded.
    pub migration_job: Job,
    /// todo-api and one Deployment per enabled worker role.
    pub deployments: Vec<Deployment>,
    /// Services of the API and workers.
    pub services: Vec<Service>,
    /// Ingress, when the spec asks for one.
    pub ingress: Option<Ingress>,
    /// API autoscaler, when autoscaling is on.
    pub autoscaler: Option<HorizontalPodAutoscaler>,
    /// API disruption budget, when minAvailable is set.
    pub disruption_budget: Option<PodDisruptionBudget>,
    /// Ingress restrictions per component.
    pub network_policies: Vec<NetworkPolicy>,
    /// Prometheus operator ServiceMonitor, when enabled.
    pub service_monitor: Option<DynamicObject>,
    /// Prometheus operator PrometheusRule with the platform's alerts, when enabled.
    pub prometheus_rule: Option<DynamicObject>,
    /// Grafana dashboards for the dashboard sidecar, when enabled.
    pub dashboards: Option<ConfigMap>,
    /// Managed PostgreSQL, when the spec asks for it.
    pub managed_postgres: Option<ManagedDependency>,
    /// Managed Redpanda, when the spec asks for it.
    pub managed_redpanda: Option<ManagedDependency>,
    /// Topics to provision (not Kubernetes objects).
    pub topics: TopicProvisioning,
    /// The API's URL (public when an ingress exists).
    pub url: String,
}

/// A child ready for server-side apply.
#[derive(Clone, Debug)]
pub struct ChildObject {
    /// Its API type.
    pub resource: ApiResource,
    /// Which concern (field manager) applies it.
    pub concern: Concern,
    /// Object name.
    pub name: String,
    /// The full manifest, with the applied-hash annotation set.
    pub manifest: serde_json::Value,
}

impl ChildObject {
    fn typed<K>(concern: Concern, object: &K) -> Self
    where
        K: Resource<DynamicType = ()> + Serialize,
    {
        let resource = ApiResource::erase::<K>(&());
        let mut manifest = serde_json::to_value(object).expect("k8s-openapi types serialize");
        manifest["apiVersion"] = resource.api_version.clone().into();
        manifest["kind"] = resource.kind.clone().into();
        Self::finish(resource, concern, manifest)
    }

    fn dynamic(concern: Concern, resource: ApiResource, object: &DynamicObject) -> Self {
        let manifest = serde_json::to_value(object).expect("DynamicObject serializes");
        Self::finish(resource, concern, manifest)
    }

    fn finish(resource: ApiResource, concern: Concern, mut manifest: serde_json::Value) -> Self {
        let name = manifest["metadata"]["name"]
            .as_str()
            .expect("builders always name children")
            .to_owned();
        let hash = short_hash(&manifest.to_string());
        manifest["metadata"]["annotations"][crate::names::APPLIED_HASH_ANNOTATION] = hash.into();
        Self {
            resource,
            concern,
            name,
            manifest,
        }
    }

    /// The applied-hash this manifest carries.
    pub fn applied_hash(&self) -> &str {
        self.manifest["metadata"]["annotations"][crate::names::APPLIED_HASH_ANNOTATION]
            .as_str()
            .unwrap_or_default()
    }
}

impl DesiredState {
    /// Every child, in apply order (configuration and identities before the workloads that use
    /// them). Destructures `self` exhaustively: a new field must be handled here.
    pub fn into_children(self) -> Vec<ChildObject> {
        let DesiredState {
            config_map,
            generated_secrets,
            service_accounts,
            secret_reader_role,
            secret_reader_binding,
            dapr_components,
            dapr_subscriptions,
            dapr_configuration,
            dapr_resiliency,
            redpanda_topics,
            migration_job,
            deployments,
            services,
            ingress,
            autoscaler,
            disruption_budget,
            network_policies,
            service_monitor,
            prometheus_rule,
            dashboards,
            managed_postgres,
            managed_redpanda,
            topics: _external_state_not_a_kubernetes_object,
            url: _reported_in_status,
        } = self;
        let mut children = vec![ChildObject::typed(Concern::Config, &config_map)];
        children.extend(
            generated_secrets
                .iter()
                .map(|s| ChildObject::typed(Concern::Config, s)),
        );
        children.extend(
            service_accounts
                .iter()
                .map(|s| ChildObject::typed(Concern::Rbac, s)),
        );
        children.push(ChildObject::typed(Concern::Rbac, &secret_reader_role));
        children.push(ChildObject::typed(Concern::Rbac, &secret_reader_binding));
        for managed in [managed_postgres, managed_redpanda].into_iter().flatten() {
            let ManagedDependency {
                stateful_set,
                service,
            } = managed;
            children.push(ChildObject::typed(Concern::ManagedDependencies, &service));
            children.push(ChildObject::typed(
                Concern::ManagedDependencies,
                &stateful_set,
            ));
        }
        let component = component_resource();
        children.extend(
            dapr_components
                .iter()
                .map(|c| ChildObject::dynamic(Concern::Dapr, component.clone(), c)),
        );
        let subscription = subscription_resource();
        children.extend(
            dapr_subscriptions
                .iter()
                .map(|s| ChildObject::dynamic(Concern::Dapr, subscription.clone(), s)),
        );
        children.push(ChildObject::dynamic(
            Concern::Dapr,
            configuration_resource(),
            &dapr_configuration,
        ));
        children.push(ChildObject::dynamic(
            Concern::Dapr,
            resiliency_resource(),
            &dapr_resiliency,
        ));
        let topic = redpanda_topic_resource();
        children.extend(
            redpanda_topics
                .iter()
                .map(|t| ChildObject::dynamic(Concern::Topics, topic.clone(), t)),
        );
        children.push(ChildObject::typed(Concern::Migrations, &migration_job));
        children.extend(
            services
                .iter()
                .map(|s| ChildObject::typed(Concern::Workloads, s)),
        );
        children.extend(
            deployments
                .iter()
                .map(|d| ChildObject::typed(Concern::Workloads, d)),
        );
        children.extend(
            autoscaler
                .iter()
                .map(|h| ChildObject::typed(Concern::Workloads, h)),
        );
        children.extend(
            disruption_budget
                .iter()
                .map(|p| ChildObject::typed(Concern::Workloads, p)),
        );
        children.extend(
            ingress
                .iter()
                .map(|i| ChildObject::typed(Concern::Network, i)),
        );
        children.extend(
            network_policies
                .iter()
                .map(|n| ChildObject::typed(Concern::Network, n)),
        );
        children.extend(
            service_monitor
                .iter()
                .map(|m| ChildObject::dynamic(Concern::Monitoring, service_monitor_resource(), m)),
        );
        children.extend(
            prometheus_rule
                .iter()
                .map(|r| ChildObject::dynamic(Concern::Monitoring, prometheus_rule_resource(), r)),
        );
        children.extend(
            dashboards
                .iter()
                .map(|d| ChildObject::typed(Concern::Monitoring, d)),
        );
        children
    }
}

/// Why a spec cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// The CR has no namespace (it is namespaced; only a hand-written render input can lack it).
    #[error("the TodoPlatform has no namespace")]
    MissingNamespace,
    /// The spec breaks admission rules (a cluster that did not enforce the CRD's CEL rules, or
    /// `render` input); one message per rule, each naming its field.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// Shared context of the builders for one platform.
struct Ctx<'a> {
    platform: &'a TodoPlatform,
    names: Names,
    inputs: &'a BuildInputs,
    owner: Option<OwnerReference>,
    version: String,
}

impl Ctx<'_> {
    fn meta(&self, name: String, component: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: Some(self.names.namespace.clone()),
            labels: Some(self.labels(component)),
            owner_references: self.owner.clone().map(|o| vec![o]),
            ..ObjectMeta::default()
        }
    }

    fn labels(&self, component: &str) -> BTreeMap<String, String> {
        let mut labels = self.names.labels(component);
        labels.insert("app.kubernetes.io/version".into(), self.version.clone());
        labels
    }

    fn enabled_roles(&self) -> Vec<WorkerRole> {
        let workers = &self.platform.spec.workers;
        WorkerRole::ALL
            .into_iter()
            .filter(|role| match role {
                WorkerRole::Recurrence => workers.recurrence.enabled,
                WorkerRole::Reminders => workers.reminders.enabled,
                WorkerRole::Notifier => workers.notifier.enabled,
                WorkerRole::Audit => workers.audit.enabled,
            })
            .collect()
    }
}

/// Build the full desired state of `platform`.
pub fn build(platform: &TodoPlatform, inputs: &BuildInputs) -> Result<DesiredState, SpecError> {
    let namespace = platform.namespace().ok_or(SpecError::MissingNamespace)?;
    crate::validation::validate(platform).map_err(SpecError::Invalid)?;
    let spec = &platform.spec;
    let ctx = Ctx {
        platform,
        names: Names::new(&platform.name_any(), &namespace),
        inputs,
        // blockOwnerDeletion: a foreground deletion of the platform waits for its children, as
        // users of `kubectl delete --cascade=foreground` and GitOps pruning expect.
        owner: platform
            .controller_owner_ref(&())
            .map(|owner| OwnerReference {
                block_owner_deletion: Some(true),
                ..owner
            }),
        version: spec
            .version
            .clone()
            .unwrap_or_else(|| inputs.default_version.clone()),
    };
    let roles = ctx.enabled_roles();
    let config_map = workloads::config_map(&ctx);
    let config_hash = workloads::config_hash(&ctx, &config_map);
    let managed_postgres = managed::postgres(&ctx);
    let managed_redpanda = managed::redpanda(&ctx);
    let topics = topic_provisioning(&ctx);
    let (secret_reader_role, secret_reader_binding) = workloads::secret_reader(&ctx);
    Ok(DesiredState {
        generated_secrets: managed::generated_secrets(&ctx),
        service_accounts: workloads::service_accounts(&ctx),
        secret_reader_role,
        secret_reader_binding,
        dapr_components: dapr::components(&ctx, &roles),
        dapr_subscriptions: dapr::subscriptions(&ctx, &roles),
        dapr_configuration: dapr::configuration(&ctx),
        dapr_resiliency: dapr::resiliency(&ctx, &roles),
        redpanda_topics: dapr::redpanda_topics(&ctx, &topics),
        migration_job: workloads::migration_job(&ctx),
        deployments: workloads::deployments(&ctx, &roles, &config_hash),
        services: workloads::services(&ctx, &roles),
        ingress: network::ingress(&ctx),
        autoscaler: workloads::autoscaler(&ctx),
        disruption_budget: workloads::disruption_budget(&ctx),
        network_policies: network::network_policies(&ctx),
        service_monitor: dapr::service_monitor(&ctx),
        prometheus_rule: monitoring::prometheus_rule(&ctx),
        dashboards: monitoring::dashboards(&ctx),
        managed_postgres,
        managed_redpanda,
        url: network::url(&ctx),
        topics,
        config_map,
    })
}

/// The Kafka bootstrap brokers Dapr and the admin provisioner use.
fn brokers(ctx: &Ctx) -> Vec<String> {
    match &ctx.platform.spec.eventing.external {
        Some(external) => external.brokers.clone(),
        None => vec![format!(
            "{}.{}.svc:{}",
            ctx.names.redpanda(),
            ctx.names.namespace,
            crate::names::KAFKA_PORT
        )],
    }
}

fn topic_provisioning(ctx: &Ctx) -> TopicProvisioning {
    let topics_spec = &ctx.platform.spec.eventing.topics;
    let retention_ms = i64::from(topics_spec.retention_hours) * 3_600_000;
    let plan = |name: String, retention_ms: i64| TopicPlan {
        name,
        partitions: topics_spec.partitions,
        replication_factor: i16::try_from(topics_spec.replication_factor).unwrap_or(i16::MAX),
        configs: BTreeMap::from([
            ("cleanup.policy".to_owned(), "delete".to_owned()),
            ("retention.ms".to_owned(), retention_ms.to_string()),
        ]),
    };
    let topics = Stream::ALL
        .into_iter()
        .flat_map(|stream| {
            [
                plan(ctx.names.topic(stream), retention_ms),
                // Dead letters wait for a human; keep them longer than the live stream.
                plan(ctx.names.dead_letter_topic(stream), retention_ms * 4),
            ]
        })
        .collect();
    TopicProvisioning {
        provisioner: topics_spec.provisioner,
        topics,
        brokers: brokers(ctx),
        delete_on_cleanup: topics_spec.deletion_policy == TopicDeletionPolicy::Delete,
    }
}

/// First 16 hex digits of SHA-256: short, stable identifiers for hashes in annotations and names.
pub fn short_hash(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    hex::encode(&digest[..8])
}
