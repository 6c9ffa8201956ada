//! The `TodoPlatform` custom resource (todoplatform.dev/v1alpha1).
//!
//! Doc comments on fields become the schema's descriptions (`kubectl explain todoplatform.spec`).
//! Only unit enums and structs with optional fields are used so the generated schema stays
//! structural; cross-field rules are CEL `x-kubernetes-validations`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validation;

/// A complete TodoPlatform: API, workers, Dapr wiring, topics and (for dev clusters) managed
/// Postgres and Redpanda, reconciled by todo-operator.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "todoplatform.dev",
    version = "v1alpha1",
    kind = "TodoPlatform",
    plural = "todoplatforms",
    shortname = "todo",
    namespaced,
    status = "TodoPlatformStatus",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason","priority":1}"#,
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".status.url"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    validation = validation::NAME.rule()
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = validation::VERSION.rule())]
pub struct TodoPlatformSpec {
    /// Version of todo-api and todo-worker; used as the image tag. Defaults to the operator's own
    /// version, so upgrading the operator upgrades platforms that do not pin one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub version: Option<String>,
    /// Image overrides (registry mirrors, pull policy, pull secrets).
    #[serde(default)]
    pub images: ImagesSpec,
    /// The HTTP API (todo-api).
    #[serde(default)]
    pub api: ApiSpec,
    /// Event consumers, one Deployment per role.
    #[serde(default)]
    pub workers: WorkersSpec,
    /// Where the data lives: an external PostgreSQL or a managed single-node one for dev clusters.
    pub database: DatabaseSpec,
    /// Kafka-protocol brokers carrying the platform's events, and how topics are provisioned.
    pub eventing: EventingSpec,
    /// Reminder scanning schedule.
    #[serde(default)]
    pub reminders: RemindersSpec,
    /// E-mail and webhook delivery for the notifier worker.
    #[serde(default)]
    pub notifications: NotificationsSpec,
    /// API authentication.
    #[serde(default)]
    pub auth: AuthSpec,
    /// Public HTTP(S) exposure of the API. Omit to reach the API only inside the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressSpec>,
    /// Dapr sidecar settings shared by all the platform's apps.
    #[serde(default)]
    pub dapr: DaprSpec,
    /// Monitoring integration.
    #[serde(default)]
    pub observability: ObservabilitySpec,
    /// Log level of todo-api and todo-worker (RUST_LOG).
    #[serde(default)]
    pub log_level: LogLevel,
}

/// The CustomResourceDefinition, with `apiVersion`, `kind` and `metadata` declared at the root
/// as controller-gen does (kube-derive leaves them implicit; strict validators reject that).
pub fn crd()
-> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
    use kube::CustomResourceExt;
    let mut crd = TodoPlatform::crd();
    for version in &mut crd.spec.versions {
        let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        let properties = schema.properties.get_or_insert_with(BTreeMap::new);
        let string = |description: &str| JSONSchemaProps {
            type_: Some("string".into()),
            description: Some(description.into()),
            ..JSONSchemaProps::default()
        };
        properties.insert(
            "apiVersion".into(),
            string("APIVersion defines the versioned schema of this representation of an object."),
        );
        properties.insert(
            "kind".into(),
            string("Kind is a string value representing the REST resource this object represents."),
        );
        properties.insert(
            "metadata".into(),
            JSONSchemaProps {
                type_: Some("object".into()),
                ..JSONSchemaProps::default()
            },
        );
    }
    crd
}

/// Image overrides.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImagesSpec {
    /// todo-api image repository (tag = spec.version). Default ghcr.io/todoplatform/todo-api.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// todo-worker image repository (tag = spec.version). Default ghcr.io/todoplatform/todo-worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// Image pull policy for the platform's containers.
    #[serde(default)]
    pub pull_policy: PullPolicy,
    /// Names of docker-registry Secrets in the platform's namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_secrets: Vec<String>,
}

/// Kubernetes image pull policy.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum PullPolicy {
    /// Pull only when the image is not on the node.
    #[default]
    IfNotPresent,
    /// Always pull.
    Always,
    /// Never pull (images preloaded, e.g. `kind load`).
    Never,
}

/// The HTTP API.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = validation::AUTOSCALING_BOUNDS.rule())]
pub struct ApiSpec {
    /// Replicas when autoscaling is off.
    #[serde(default = "default_api_replicas")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: i32,
    /// Horizontal autoscaling on CPU. When set, `replicas` is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSpec>,
    /// Container resources. Defaults to requests of 100m CPU / 128Mi and a 512Mi memory limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Keep at least this many API pods during voluntary disruptions (PodDisruptionBudget).
    /// Omit for no budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub min_available: Option<i32>,
    /// Addresses and CIDR ranges of the proxies in front of the API (the ingress controller, a load
    /// balancer, a mesh sidecar). A request from one of them is counted against the client its
    /// `X-Forwarded-For` names for the per-address login limit; from anywhere else, against the
    /// connection's address. Omitted: the ranges where an ingress controller's pods live, 10.0.0.0/8,
    /// 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, 127.0.0.0/8, ::1/128 and fc00::/7; a client inside
    /// the cluster can then claim any address, and the per-account limit still holds. `[]` trusts none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 64),
        inner(regex(pattern = r"^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$"))
    )]
    pub trusted_proxies: Option<Vec<String>>,
}

/// The proxies trusted when `spec.api.trustedProxies` is omitted: every address a pod, a node or an
/// in-cluster load balancer has on common networks (RFC 1918, RFC 6598 shared space, loopback for a
/// mesh sidecar, IPv6 unique-local).
pub const DEFAULT_TRUSTED_PROXIES: [&str; 7] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "::1/128",
    "fc00::/7",
];

fn default_api_replicas() -> i32 {
    2
}

impl Default for ApiSpec {
    fn default() -> Self {
        Self {
            replicas: default_api_replicas(),
            autoscaling: None,
            resources: None,
            min_available: None,
            trusted_proxies: None,
        }
    }
}

/// CPU-based horizontal autoscaling.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoscalingSpec {
    /// Lower bound of replicas.
    #[schemars(range(min = 1, max = 100))]
    pub min_replicas: i32,
    /// Upper bound of replicas.
    #[schemars(range(min = 1, max = 100))]
    pub max_replicas: i32,
    /// Target average CPU utilisation, percent of the request.
    #[serde(default = "default_cpu_target")]
    #[schemars(range(min = 10, max = 100))]
    pub target_cpu_utilization_percent: i32,
}

fn default_cpu_target() -> i32 {
    75
}

/// Worker roles; each enabled role runs as its own Deployment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkersSpec {
    /// Creates the next occurrence when a recurring task is completed.
    #[serde(default)]
    pub recurrence: WorkerRoleSpec,
    /// Scans for due reminders on the cron binding's schedule.
    #[serde(default)]
    pub reminders: WorkerRoleSpec,
    /// Delivers reminders by e-mail and webhook.
    #[serde(default)]
    pub notifier: WorkerRoleSpec,
    /// Records every task event in the audit log.
    #[serde(default)]
    pub audit: WorkerRoleSpec,
}

/// One worker role.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkerRoleSpec {
    /// Run this role at all.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Replicas of this role.
    #[serde(default = "default_worker_replicas")]
    #[schemars(range(min = 0, max = 50))]
    pub replicas: i32,
    /// Container resources. Defaults to requests of 50m CPU / 64Mi and a 256Mi memory limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

fn default_true() -> bool {
    true
}

fn default_worker_replicas() -> i32 {
    1
}

impl Default for WorkerRoleSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            replicas: default_worker_replicas(),
            resources: None,
        }
    }
}

/// Database: exactly one of `managed` or `external`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = validation::DATABASE_CHOICE.rule())]
pub struct DatabaseSpec {
    /// A single-node PostgreSQL StatefulSet run by the operator. For dev clusters only: no
    /// backups, no high availability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedPostgresSpec>,
    /// An existing PostgreSQL, reached by the URL stored in a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalDatabaseSpec>,
    /// Connection pool size per pod (TODO_DB_MAX_CONNECTIONS).
    #[serde(default = "default_db_connections")]
    #[schemars(range(min = 1, max = 500))]
    pub max_connections: i32,
}

fn default_db_connections() -> i32 {
    10
}

/// Managed single-node PostgreSQL.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedPostgresSpec {
    /// PostgreSQL image.
    #[serde(default = "default_postgres_image")]
    pub image: String,
    /// PersistentVolumeClaim size.
    #[serde(default = "default_storage_size")]
    #[schemars(regex(pattern = r"^[0-9]+(Mi|Gi|Ti)$"))]
    pub storage: String,
    /// StorageClass for the claim; the cluster default when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

fn default_postgres_image() -> String {
    "postgres:17-alpine".into()
}

fn default_storage_size() -> String {
    "1Gi".into()
}

/// External PostgreSQL.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalDatabaseSpec {
    /// Secret key holding the connection URL (`postgres://user:pass@host:5432/db?sslmode=require`).
    pub url_secret_ref: SecretKeyRef,
}

/// A key in a Secret in the platform's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Secret name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Eventing: exactly one of `managed` or `external`, plus topic settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = validation::EVENTING_CHOICE.rule())]
#[x_kube(validation = validation::REDPANDA_TOPICS_NEED_EXTERNAL.rule())]
#[x_kube(validation = validation::MANAGED_REPLICATION.rule())]
pub struct EventingSpec {
    /// A single-node Redpanda StatefulSet run by the operator. For dev clusters only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedRedpandaSpec>,
    /// Existing Kafka-protocol brokers (Redpanda, Kafka).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalKafkaSpec>,
    /// Topic sizing and provisioning.
    #[serde(default)]
    pub topics: TopicsSpec,
}

/// Managed single-node Redpanda.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedRedpandaSpec {
    /// Redpanda image.
    #[serde(default = "default_redpanda_image")]
    pub image: String,
    /// PersistentVolumeClaim size.
    #[serde(default = "default_storage_size")]
    #[schemars(regex(pattern = r"^[0-9]+(Mi|Gi|Ti)$"))]
    pub storage: String,
    /// StorageClass for the claim; the cluster default when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

fn default_redpanda_image() -> String {
    "docker.redpanda.com/redpandadata/redpanda:v25.2.1".into()
}

/// External Kafka-protocol brokers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = validation::PLAIN_NEEDS_TLS.rule())]
pub struct ExternalKafkaSpec {
    /// Bootstrap brokers, `host:port`.
    #[schemars(length(min = 1, max = 32))]
    pub brokers: Vec<String>,
    /// TLS to the brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<KafkaTlsSpec>,
    /// SASL authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<KafkaSaslSpec>,
}

/// TLS settings for the brokers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTlsSpec {
    /// Secret key holding a PEM CA bundle; the system roots when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<SecretKeyRef>,
}

/// SASL settings for the brokers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaSaslSpec {
    /// SASL mechanism.
    #[serde(default)]
    pub mechanism: SaslMechanism,
    /// Secret with keys `username` and `password`.
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: String,
}

/// SASL mechanisms Dapr's Kafka component supports.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SaslMechanism {
    /// SCRAM-SHA-256.
    #[default]
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    /// SCRAM-SHA-512.
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
    /// PLAIN (only over TLS).
    #[serde(rename = "PLAIN")]
    Plain,
}

/// Topic sizing and provisioning.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = validation::REDPANDA_CLUSTER_REQUIRED.rule())]
#[x_kube(validation = validation::REDPANDA_CLUSTER_ONLY_WITH_REDPANDA.rule())]
#[x_kube(validation = validation::DELETE_NEEDS_PROVISIONER.rule())]
pub struct TopicsSpec {
    /// Partitions per topic. Partitions are only ever added, never removed.
    #[serde(default = "default_partitions")]
    #[schemars(range(min = 1, max = 1000))]
    pub partitions: i32,
    /// Replication factor per topic.
    #[serde(default = "default_replication")]
    #[schemars(range(min = 1, max = 7))]
    pub replication_factor: i32,
    /// Retention of the main topics, in hours. Dead-letter topics keep messages four times longer.
    #[serde(default = "default_retention_hours")]
    #[schemars(range(min = 1, max = 87600))]
    pub retention_hours: i32,
    /// Who creates the topics.
    #[serde(default)]
    pub provisioner: TopicProvisioner,
    /// What happens to the topics when the TodoPlatform is deleted.
    #[serde(default)]
    pub deletion_policy: TopicDeletionPolicy,
    /// Name of the Redpanda resource (cluster.redpanda.com) the Topic resources point at; only
    /// with provisioner RedpandaTopic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redpanda_cluster_ref: Option<String>,
}

fn default_partitions() -> i32 {
    3
}

fn default_replication() -> i32 {
    1
}

fn default_retention_hours() -> i32 {
    168
}

impl Default for TopicsSpec {
    fn default() -> Self {
        Self {
            partitions: default_partitions(),
            replication_factor: default_replication(),
            retention_hours: default_retention_hours(),
            provisioner: TopicProvisioner::default(),
            deletion_policy: TopicDeletionPolicy::default(),
            redpanda_cluster_ref: None,
        }
    }
}

/// How topics are created.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum TopicProvisioner {
    /// The operator talks the Kafka admin protocol to the brokers.
    #[default]
    KafkaAdmin,
    /// The operator creates Redpanda operator `Topic` resources (cluster.redpanda.com/v1alpha2).
    RedpandaTopic,
    /// Topics are managed outside the operator.
    External,
}

/// Fate of topics when the TodoPlatform is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum TopicDeletionPolicy {
    /// Keep topics and their data.
    #[default]
    Retain,
    /// Delete the platform's topics.
    Delete,
}

/// Reminder scanning.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemindersSpec {
    /// Dapr cron binding schedule (`@every 1m`, or six-field cron `0 */5 * * * *`).
    #[serde(default = "default_reminder_schedule")]
    #[schemars(length(min = 1, max = 100))]
    pub schedule: String,
}

fn default_reminder_schedule() -> String {
    "@every 1m".into()
}

impl Default for RemindersSpec {
    fn default() -> Self {
        Self {
            schedule: default_reminder_schedule(),
        }
    }
}

/// Notifier delivery channels.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationsSpec {
    /// E-mail over SMTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpSpec>,
    /// The platform's own webhook: every user's reminders (with their email addresses), signed, for
    /// the platform's automation. Users add their own webhooks in their notification settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookSpec>,
    /// Let users' personal webhooks reach loopback, private and link-local addresses (a service in
    /// the cluster or the company network, e.g. a self-hosted automation tool). Off by default: a URL
    /// a user typed must not reach into the platform's network (SSRF). Sets
    /// `TODO_WEBHOOK_ALLOW_PRIVATE` on the API (which sends webhook tests) and the notifier.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_private_webhooks: bool,
    /// How the notifier retries an email or webhook that failed (the mail server or the receiver is
    /// down). Each field left out keeps the notifier's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<NotifyRetrySpec>,
}

/// The notifier's retry of a failed delivery: waits double from `initialInterval` up to
/// `maxInterval`, until `giveUpAfter` has passed since the first attempt; the delivery is then
/// `failed`, and a user can retry it through the API. Durations are whole numbers of `ms`, `s`, `m`
/// or `h`, combined as in `1h30m`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotifyRetrySpec {
    /// The wait after the first failure (default `30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]*[1-9][0-9]*(ms|s|m|h))([0-9]+(ms|s|m|h))*$"))]
    pub initial_interval: Option<String>,
    /// The longest wait between attempts (default `1h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]*[1-9][0-9]*(ms|s|m|h))([0-9]+(ms|s|m|h))*$"))]
    pub max_interval: Option<String>,
    /// How long after the first attempt retrying ends (default `24h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]*[1-9][0-9]*(ms|s|m|h))([0-9]+(ms|s|m|h))*$"))]
    pub give_up_after: Option<String>,
}

/// SMTP delivery.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmtpSpec {
    /// Secret key holding the SMTP URL (`smtp://user:pass@host:587?tls=required`).
    pub url_secret_ref: SecretKeyRef,
    /// Sender address.
    #[schemars(length(min = 3, max = 320))]
    pub from: String,
}

/// The platform's webhook.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSpec {
    /// Every user's reminders are POSTed here, signed with `X-Todo-Signature`.
    #[schemars(length(min = 8, max = 2048), regex(pattern = r"^https?://"))]
    pub url: String,
    /// Secret key holding the HMAC signing secret.
    pub signing_secret_ref: SecretKeyRef,
}

/// API authentication.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthSpec {
    /// Secret key holding the JWT signing secret. When omitted the operator generates one
    /// (Secret `<name>-jwt`) and keeps it across reconciles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_secret_ref: Option<SecretKeyRef>,
}

/// Ingress for the API.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = validation::INGRESS_HOST.rule())]
pub struct IngressSpec {
    /// Public host name.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// IngressClass; the cluster default when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// TLS certificate Secret (e.g. issued by cert-manager). Plain HTTP when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret_name: Option<String>,
    /// Extra annotations for the Ingress (e.g. cert-manager issuer).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// Dapr settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DaprSpec {
    /// Sidecar log level.
    #[serde(default)]
    pub log_level: DaprLogLevel,
    /// Namespace of the Dapr control plane (sentry, operator, placement). Used for the sentry
    /// address and to let the control plane through the platform's NetworkPolicies.
    #[serde(default = "default_dapr_namespace")]
    #[schemars(length(min = 1, max = 63))]
    pub control_plane_namespace: String,
    /// Mutual TLS between sidecars, mirrored into the platform's Dapr Configuration. Dapr
    /// enforces the control plane's `daprsystem` setting; keep the two in agreement.
    #[serde(default = "default_true")]
    pub mtls: bool,
    /// Distributed tracing via OpenTelemetry: the sidecars (through the Dapr Configuration) and the
    /// API and workers (through OpenTelemetry's `OTEL_*` variables) export to this collector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingSpec>,
}

fn default_dapr_namespace() -> String {
    "dapr-system".into()
}

impl Default for DaprSpec {
    fn default() -> Self {
        Self {
            log_level: DaprLogLevel::default(),
            control_plane_namespace: default_dapr_namespace(),
            mtls: true,
            tracing: None,
        }
    }
}

/// Dapr sidecar log levels.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DaprLogLevel {
    /// debug
    Debug,
    /// info
    #[default]
    Info,
    /// warn
    Warn,
    /// error
    Error,
}

/// OpenTelemetry tracing.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TracingSpec {
    /// OTLP collector `host:port`.
    #[schemars(length(min = 1, max = 253))]
    pub otlp_endpoint: String,
    /// OTLP transport.
    #[serde(default)]
    pub protocol: OtlpProtocol,
    /// Use TLS to the collector.
    #[serde(default)]
    pub secure: bool,
    /// Fraction of requests traced, "0" to "1".
    #[serde(default = "default_sampling_rate")]
    #[schemars(regex(pattern = r"^(0(\.[0-9]+)?|1(\.0+)?)$"))]
    pub sampling_rate: String,
}

fn default_sampling_rate() -> String {
    "1".into()
}

/// OTLP transports.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OtlpProtocol {
    /// OTLP over gRPC.
    #[default]
    Grpc,
    /// OTLP over HTTP.
    Http,
}

/// Monitoring.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservabilitySpec {
    /// Create a Prometheus operator ServiceMonitor (needs the monitoring.coreos.com CRD; a
    /// condition reports when it is missing).
    #[serde(default)]
    pub service_monitor: bool,
    /// Ship the platform's Grafana dashboards (API; event pipeline) in a ConfigMap labelled
    /// `grafana_dashboard: "1"`, which Grafana's dashboard sidecar loads (let it search this
    /// namespace).
    #[serde(default)]
    pub grafana_dashboards: bool,
    /// Create a Prometheus operator PrometheusRule with the platform's alerts: API error ratio
    /// and latency SLO burn, outbox backlog age, dead letters, late reminders (needs the
    /// monitoring.coreos.com CRD; a condition reports when it is missing).
    #[serde(default)]
    pub prometheus_rules: bool,
}

/// Application log levels.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// trace
    Trace,
    /// debug
    Debug,
    /// info
    #[default]
    Info,
    /// warn
    Warn,
    /// error
    Error,
}

impl LogLevel {
    /// The RUST_LOG directive.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

impl DaprLogLevel {
    /// The value of the `dapr.io/log-level` annotation.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// Observed state, written by the operator only when it changes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TodoPlatformStatus {
    /// metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` plus one condition per concern.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Public URL of the API (from the ingress), or its in-cluster URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// State of each topic the platform uses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<TopicStatus>,
}

/// One topic's observed state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicStatus {
    /// Full topic name.
    pub name: String,
    /// Partitions on the broker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<i32>,
    /// What the provisioner did or found.
    pub state: TopicState,
    /// Detail when state is Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl TopicStatus {
    /// A topic that exists with `partitions`.
    pub fn ready(name: impl Into<String>, partitions: i32) -> Self {
        TopicStatus {
            name: name.into(),
            partitions: Some(partitions),
            state: TopicState::Ready,
            message: None,
        }
    }
}

/// State of one topic. What a reconcile did (created, grew, reconfigured) goes to Events and
/// logs, not here, so a settled platform's status stays byte-equal between reconciles.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum TopicState {
    /// Exists with the desired partitions and configs.
    Ready,
    /// Managed by a Redpanda `Topic` resource.
    Delegated,
    /// Provisioning failed; see message.
    Failed,
}
