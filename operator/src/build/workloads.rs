//! todo-api and todo-worker: configuration, identities, the migration Job, Deployments,
//! Services, autoscaling and disruption budget.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::autoscaling::v2::{
    ContainerResourceMetricSource, CrossVersionObjectReference, HorizontalPodAutoscaler,
    HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapEnvSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, EnvVar, EnvVarSource, HTTPGetAction, LocalObjectReference, PodSecurityContext,
    PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretKeySelector,
    SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Ctx, short_hash};
use crate::crd::{ApiSpec, DEFAULT_TRUSTED_PROXIES, NotifyRetrySpec, OtlpProtocol, PullPolicy};
use crate::names::{API_PORT, CONFIG_HASH_ANNOTATION, DAPR_METRICS_PORT, WORKER_PORT, WorkerRole};
use todo_contract::env as var;

/// Name of the API's app container (its component); the HPA scales on this container's CPU.
const API_CONTAINER: &str = "api";

/// Unprivileged UID/GID of the distroless-style images.
const APP_UID: i64 = 65532;

/// (Secret name, key) of the database URL.
pub(super) fn database_url_ref(ctx: &Ctx) -> (String, String) {
    match &ctx.platform.spec.database.external {
        Some(external) => (
            external.url_secret_ref.name.clone(),
            external.url_secret_ref.key.clone(),
        ),
        None => (ctx.names.postgres(), "url".into()),
    }
}

/// (Secret name, key) of the JWT signing secret.
fn jwt_secret_ref(ctx: &Ctx) -> (String, String) {
    match &ctx.platform.spec.auth.jwt_secret_ref {
        Some(reference) => (reference.name.clone(), reference.key.clone()),
        None => (ctx.names.jwt_secret(), "secret".into()),
    }
}

/// Non-secret settings shared by every app container.
pub(super) fn config_map(ctx: &Ctx) -> ConfigMap {
    let spec = &ctx.platform.spec;
    let names = &ctx.names;
    let mut data = BTreeMap::from([
        (var::LOG_FORMAT.to_owned(), "json".to_owned()),
        (var::RUST_LOG.to_owned(), spec.log_level.as_str().to_owned()),
        (var::PUBSUB_NAME.to_owned(), names.pubsub()),
        (var::TOPIC_PREFIX.to_owned(), names.topic_prefix()),
        (var::API_APP_ID.to_owned(), names.api()),
        (var::REMINDER_BINDING.to_owned(), names.reminder_binding()),
        (var::PUBLIC_URL.to_owned(), super::network::url(ctx)),
        (
            var::DB_MAX_CONNECTIONS.to_owned(),
            spec.database.max_connections.to_string(),
        ),
    ]);
    if let Some(smtp) = &spec.notifications.smtp {
        data.insert(var::SMTP_FROM.into(), smtp.from.clone());
    }
    ConfigMap {
        metadata: ctx.meta(names.config_map(), "config"),
        data: Some(data),
        ..ConfigMap::default()
    }
}

/// Hash of everything that reaches the pods besides the pod template itself: the ConfigMap,
/// referenced Secrets' versions and the generated secret values the platform uses. Changing any of
/// them rolls pods. A generated value the platform does not use (the JWT key when `jwtSecretRef`
/// is set, the managed PostgreSQL password with an external database) has no Secret to be read
/// back from, so it is new in every reconcile: hashing it would roll the pods every time.
pub(super) fn config_hash(ctx: &Ctx, config_map: &ConfigMap) -> String {
    let spec = &ctx.platform.spec;
    let generated = &ctx.inputs.generated;
    let jwt = spec
        .auth
        .jwt_secret_ref
        .is_none()
        .then_some(generated.jwt_secret.as_str());
    let postgres = spec
        .database
        .managed
        .is_some()
        .then_some(generated.postgres_password.as_str());
    let material = serde_json::json!({
        "config": config_map.data,
        "secrets": ctx.inputs.referenced_secret_versions,
        "generated": short_hash(&format!(
            "{}/{}/{}",
            jwt.unwrap_or_default(),
            postgres.unwrap_or_default(),
            generated.app_token
        )),
    });
    short_hash(&material.to_string())
}

/// One ServiceAccount for the API, one shared by the workers.
pub(super) fn service_accounts(ctx: &Ctx) -> Vec<ServiceAccount> {
    [
        (ctx.names.api(), "api"),
        (ctx.names.worker_service_account(), "worker"),
    ]
    .into_iter()
    .map(|(name, component)| ServiceAccount {
        metadata: ctx.meta(name, component),
        ..ServiceAccount::default()
    })
    .collect()
}

/// Every Secret the apps' sidecars may read through the secret store: only the platform's own.
fn readable_secrets(ctx: &Ctx) -> Vec<String> {
    let spec = &ctx.platform.spec;
    let mut secrets = vec![database_url_ref(ctx).0, jwt_secret_ref(ctx).0];
    if let Some(external) = &spec.eventing.external {
        secrets.extend(external.sasl.iter().map(|s| s.secret_name.clone()));
        secrets.extend(
            external
                .tls
                .iter()
                .filter_map(|t| t.ca_secret_ref.as_ref().map(|r| r.name.clone())),
        );
    }
    secrets.extend(
        spec.notifications
            .smtp
            .iter()
            .map(|s| s.url_secret_ref.name.clone()),
    );
    secrets.extend(
        spec.notifications
            .webhook
            .iter()
            .map(|w| w.signing_secret_ref.name.clone()),
    );
    secrets.sort();
    secrets.dedup();
    secrets
}

/// Role + RoleBinding letting the apps' sidecars `get` exactly the platform's Secrets.
pub(super) fn secret_reader(ctx: &Ctx) -> (Role, RoleBinding) {
    let name = ctx.names.secret_reader();
    let role = Role {
        metadata: ctx.meta(name.clone(), "rbac"),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["secrets".into()]),
            resource_names: Some(readable_secrets(ctx)),
            verbs: vec!["get".into()],
            ..PolicyRule::default()
        }]),
    };
    let binding = RoleBinding {
        metadata: ctx.meta(name.clone(), "rbac"),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name,
        },
        subjects: Some(
            [ctx.names.api(), ctx.names.worker_service_account()]
                .into_iter()
                .map(|sa| Subject {
                    kind: "ServiceAccount".into(),
                    name: sa,
                    namespace: Some(ctx.names.namespace.clone()),
                    ..Subject::default()
                })
                .collect(),
        ),
    };
    (role, binding)
}

fn image(ctx: &Ctx, repository: Option<&String>, default: &str) -> String {
    format!(
        "{}:{}",
        repository.map_or(default, String::as_str),
        ctx.version
    )
}

fn api_image(ctx: &Ctx) -> String {
    image(
        ctx,
        ctx.platform.spec.images.api.as_ref(),
        "ghcr.io/todoplatform/todo-api",
    )
}

fn worker_image(ctx: &Ctx) -> String {
    image(
        ctx,
        ctx.platform.spec.images.worker.as_ref(),
        "ghcr.io/todoplatform/todo-worker",
    )
}

fn pull_policy(ctx: &Ctx) -> String {
    match ctx.platform.spec.images.pull_policy {
        PullPolicy::IfNotPresent => "IfNotPresent",
        PullPolicy::Always => "Always",
        PullPolicy::Never => "Never",
    }
    .into()
}

fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..EnvVar::default()
    }
}

fn secret_env(name: &str, (secret, key): (String, String)) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret,
                key,
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(APP_UID),
        run_as_group: Some(APP_UID),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Capabilities::default()
        }),
        ..SecurityContext::default()
    }
}

fn pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(APP_UID),
        run_as_group: Some(APP_UID),
        fs_group: Some(APP_UID),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..SeccompProfile::default()
        }),
        ..PodSecurityContext::default()
    }
}

fn resources(cpu: &str, memory: &str, memory_limit: &str) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity(cpu.into())),
            ("memory".to_owned(), Quantity(memory.into())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity(memory_limit.into()),
        )])),
        ..ResourceRequirements::default()
    }
}

fn http_probe(path: &str, period: i32, failure_threshold: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("http".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failure_threshold),
        timeout_seconds: Some(2),
        ..Probe::default()
    }
}

fn tmp_volume() -> (Volume, VolumeMount) {
    (
        Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        },
        VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..VolumeMount::default()
        },
    )
}

fn env_from_config(ctx: &Ctx) -> Vec<EnvFromSource> {
    vec![EnvFromSource {
        config_map_ref: Some(ConfigMapEnvSource {
            name: ctx.names.config_map(),
            optional: Some(false),
        }),
        ..EnvFromSource::default()
    }]
}

fn pull_secrets(ctx: &Ctx) -> Option<Vec<LocalObjectReference>> {
    let secrets = &ctx.platform.spec.images.pull_secrets;
    (!secrets.is_empty()).then(|| {
        secrets
            .iter()
            .map(|name| LocalObjectReference { name: name.clone() })
            .collect()
    })
}

/// What differs between the API and a worker Deployment.
struct App {
    name: String,
    component: String,
    service_account: String,
    image: String,
    args: Vec<String>,
    port: i32,
    env: Vec<EnvVar>,
    resources: ResourceRequirements,
    replicas: Option<i32>,
    /// Secret whose `token` Dapr presents to the app (`dapr.io/app-token-secret`).
    app_token_secret: Option<String>,
}

/// OpenTelemetry's variables pointing the app's own spans at the collector the platform's Dapr sidecars
/// export to, under the sidecar's service name (its app-id) and sampling ratio; none without tracing.
fn tracing_env(ctx: &Ctx, app_name: &str) -> Vec<EnvVar> {
    let Some(tracing) = &ctx.platform.spec.dapr.tracing else {
        return Vec::new();
    };
    let scheme = if tracing.secure { "https" } else { "http" };
    let protocol = match tracing.protocol {
        OtlpProtocol::Grpc => "grpc",
        OtlpProtocol::Http => "http/protobuf",
    };
    vec![
        env(
            var::OTEL_EXPORTER_OTLP_ENDPOINT,
            format!("{scheme}://{}", tracing.otlp_endpoint),
        ),
        env(var::OTEL_EXPORTER_OTLP_PROTOCOL, protocol),
        env(var::OTEL_SERVICE_NAME, app_name),
        env(var::OTEL_TRACES_SAMPLER, "parentbased_traceidratio"),
        env(var::OTEL_TRACES_SAMPLER_ARG, tracing.sampling_rate.clone()),
    ]
}

fn deployment(ctx: &Ctx, mut app: App, config_hash: &str) -> Deployment {
    app.env.extend(tracing_env(ctx, &app.name));
    let dapr = &ctx.platform.spec.dapr;
    let selector = ctx.names.selector_labels(&app.component);
    let mut annotations = BTreeMap::from([
        ("dapr.io/enabled".to_owned(), "true".to_owned()),
        ("dapr.io/app-id".to_owned(), app.name.clone()),
        ("dapr.io/app-port".to_owned(), app.port.to_string()),
        ("dapr.io/config".to_owned(), ctx.names.dapr_config()),
        ("dapr.io/enable-metrics".to_owned(), "true".to_owned()),
        (
            "dapr.io/metrics-port".to_owned(),
            DAPR_METRICS_PORT.to_string(),
        ),
        (
            "dapr.io/enable-app-health-check".to_owned(),
            "true".to_owned(),
        ),
        (
            "dapr.io/app-health-check-path".to_owned(),
            "/healthz".to_owned(),
        ),
        (
            "dapr.io/log-level".to_owned(),
            dapr.log_level.as_str().to_owned(),
        ),
        ("dapr.io/log-as-json".to_owned(), "true".to_owned()),
        (CONFIG_HASH_ANNOTATION.to_owned(), config_hash.to_owned()),
    ]);
    if let Some(secret) = &app.app_token_secret {
        annotations.insert("dapr.io/app-token-secret".into(), secret.clone());
    }
    let (tmp, tmp_mount) = tmp_volume();
    Deployment {
        metadata: ctx.meta(app.name.clone(), &app.component),
        spec: Some(DeploymentSpec {
            replicas: app.replicas,
            revision_history_limit: Some(5),
            selector: LabelSelector {
                match_labels: Some(selector),
                ..LabelSelector::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::String("25%".into())),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(ctx.labels(&app.component)),
                    annotations: Some(annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(app.service_account),
                    security_context: Some(pod_security()),
                    image_pull_secrets: pull_secrets(ctx),
                    termination_grace_period_seconds: Some(30),
                    containers: vec![Container {
                        name: app.component.clone(),
                        image: Some(app.image),
                        image_pull_policy: Some(pull_policy(ctx)),
                        args: Some(app.args),
                        env: Some(app.env),
                        env_from: Some(env_from_config(ctx)),
                        ports: Some(vec![ContainerPort {
                            name: Some("http".into()),
                            container_port: app.port,
                            protocol: Some("TCP".into()),
                            ..ContainerPort::default()
                        }]),
                        liveness_probe: Some(http_probe("/healthz", 10, 3)),
                        readiness_probe: Some(http_probe("/readyz", 5, 3)),
                        startup_probe: Some(http_probe("/healthz", 2, 30)),
                        resources: Some(app.resources),
                        security_context: Some(container_security()),
                        volume_mounts: Some(vec![tmp_mount]),
                        ..Container::default()
                    }],
                    volumes: Some(vec![tmp]),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// `TODO_TRUSTED_PROXIES`: the spec's list, or the cluster's private ranges when it has none.
fn trusted_proxies(api: &ApiSpec) -> String {
    match &api.trusted_proxies {
        Some(list) => list.join(","),
        None => DEFAULT_TRUSTED_PROXIES.join(","),
    }
}

/// The API Deployment and one Deployment per enabled worker role.
pub(super) fn deployments(ctx: &Ctx, roles: &[WorkerRole], config_hash: &str) -> Vec<Deployment> {
    let spec = &ctx.platform.spec;
    // Both send to users' webhooks: the API a test, the notifier the reminders.
    let private_webhooks = spec
        .notifications
        .allow_private_webhooks
        .then(|| env(var::WEBHOOK_ALLOW_PRIVATE, "true"));
    let api = App {
        name: ctx.names.api(),
        component: API_CONTAINER.into(),
        service_account: ctx.names.api(),
        image: api_image(ctx),
        args: vec!["serve".into()],
        port: API_PORT,
        env: vec![
            env(var::HTTP_ADDR, format!("0.0.0.0:{API_PORT}")),
            // In Kubernetes each worker role is its own Deployment.
            env(var::EMBEDDED_WORKERS, "false"),
            // The migration Job migrates before any pod of a release starts.
            env(var::MIGRATE, "false"),
            secret_env(var::DATABASE_URL, database_url_ref(ctx)),
            secret_env(var::JWT_SECRET, jwt_secret_ref(ctx)),
            env(var::TRUSTED_PROXIES, trusted_proxies(&spec.api)),
            // Dapr's variable name for the app token the sidecar presents (see the annotation).
            secret_env(
                var::APP_API_TOKEN,
                (ctx.names.app_token_secret(), "token".into()),
            ),
        ]
        .into_iter()
        .chain(private_webhooks.clone())
        .collect(),
        resources: spec
            .api
            .resources
            .clone()
            .unwrap_or_else(|| resources("100m", "128Mi", "512Mi")),
        // The HPA owns replicas when autoscaling is on; leaving the field out keeps SSA from
        // fighting it.
        replicas: spec.api.autoscaling.is_none().then_some(spec.api.replicas),
        app_token_secret: Some(ctx.names.app_token_secret()),
    };
    let mut deployments = vec![deployment(ctx, api, config_hash)];
    for role in roles {
        let role_spec = match role {
            WorkerRole::Recurrence => &spec.workers.recurrence,
            WorkerRole::Reminders => &spec.workers.reminders,
            WorkerRole::Notifier => &spec.workers.notifier,
            WorkerRole::Audit => &spec.workers.audit,
        };
        let mut env_vars = vec![
            env(var::HTTP_ADDR, format!("0.0.0.0:{WORKER_PORT}")),
            env(var::WORKER_ROLES, role.as_str()),
            secret_env(var::DATABASE_URL, database_url_ref(ctx)),
        ];
        if *role == WorkerRole::Notifier {
            env_vars.extend(private_webhooks.clone());
            if let Some(smtp) = &spec.notifications.smtp {
                env_vars.push(secret_env(
                    var::SMTP_URL,
                    (
                        smtp.url_secret_ref.name.clone(),
                        smtp.url_secret_ref.key.clone(),
                    ),
                ));
            }
            if let Some(webhook) = &spec.notifications.webhook {
                env_vars.push(env(var::WEBHOOK_URL, webhook.url.clone()));
                env_vars.push(secret_env(
                    var::WEBHOOK_SECRET,
                    (
                        webhook.signing_secret_ref.name.clone(),
                        webhook.signing_secret_ref.key.clone(),
                    ),
                ));
            }
            if let Some(retry) = &spec.notifications.retry {
                let NotifyRetrySpec {
                    initial_interval,
                    max_interval,
                    give_up_after,
                } = retry;
                for (name, value) in [
                    (var::NOTIFY_RETRY_INITIAL, initial_interval),
                    (var::NOTIFY_RETRY_MAX_INTERVAL, max_interval),
                    (var::NOTIFY_RETRY_FOR, give_up_after),
                ] {
                    if let Some(value) = value {
                        env_vars.push(env(name, value.clone()));
                    }
                }
            }
        }
        let worker = App {
            name: ctx.names.worker(*role),
            component: format!("worker-{}", role.as_str()),
            service_account: ctx.names.worker_service_account(),
            image: worker_image(ctx),
            args: vec!["run".into()],
            port: WORKER_PORT,
            env: env_vars,
            resources: role_spec
                .resources
                .clone()
                .unwrap_or_else(|| resources("50m", "64Mi", "256Mi")),
            replicas: Some(role_spec.replicas),
            app_token_secret: None,
        };
        deployments.push(deployment(ctx, worker, config_hash));
    }
    deployments
}

/// ClusterIP Services for the API and each worker (workers' only for metrics scraping).
pub(super) fn services(ctx: &Ctx, roles: &[WorkerRole]) -> Vec<Service> {
    let api = (ctx.names.api(), "api".to_owned(), API_PORT);
    let workers = roles.iter().map(|role| {
        (
            ctx.names.worker(*role),
            format!("worker-{}", role.as_str()),
            WORKER_PORT,
        )
    });
    std::iter::once(api)
        .chain(workers)
        .map(|(name, component, port)| {
            let mut metadata = ctx.meta(name, &component);
            metadata
                .labels
                .get_or_insert_with(BTreeMap::new)
                .insert("todoplatform.dev/metrics".into(), "true".into());
            Service {
                metadata,
                spec: Some(ServiceSpec {
                    type_: Some("ClusterIP".into()),
                    selector: Some(ctx.names.selector_labels(&component)),
                    ports: Some(vec![
                        ServicePort {
                            name: Some("http".into()),
                            port,
                            target_port: Some(IntOrString::String("http".into())),
                            protocol: Some("TCP".into()),
                            ..ServicePort::default()
                        },
                        ServicePort {
                            name: Some("dapr-metrics".into()),
                            port: DAPR_METRICS_PORT,
                            target_port: Some(IntOrString::Int(DAPR_METRICS_PORT)),
                            protocol: Some("TCP".into()),
                            ..ServicePort::default()
                        },
                    ]),
                    ..ServiceSpec::default()
                }),
                ..Service::default()
            }
        })
        .collect()
}

/// Runs `todo-api migrate` then `todo-worker migrate`. Named by a hash of its whole spec: a
/// Job's pod template is immutable, so any change to it (images, pull policy or secrets, the
/// database Secret, resources…) must make a new Job rather than an apply Kubernetes rejects.
pub(super) fn migration_job(ctx: &Ctx) -> Job {
    let api_image = api_image(ctx);
    let worker_image = worker_image(ctx);
    let database_url = secret_env(var::DATABASE_URL, database_url_ref(ctx));
    let (tmp, tmp_mount) = tmp_volume();
    let migrate = |name: &str, image: String| Container {
        name: name.into(),
        image: Some(image),
        image_pull_policy: Some(pull_policy(ctx)),
        args: Some(vec!["migrate".into()]),
        env: Some(vec![database_url.clone()]),
        env_from: Some(env_from_config(ctx)),
        resources: Some(resources("50m", "64Mi", "256Mi")),
        security_context: Some(container_security()),
        volume_mounts: Some(vec![tmp_mount.clone()]),
        ..Container::default()
    };
    let spec = JobSpec {
        backoff_limit: Some(4),
        active_deadline_seconds: Some(900),
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(ctx.labels("migrations")),
                annotations: Some(BTreeMap::from([(
                    "dapr.io/enabled".to_owned(),
                    "false".to_owned(),
                )])),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                restart_policy: Some("OnFailure".into()),
                service_account_name: Some(ctx.names.api()),
                security_context: Some(pod_security()),
                image_pull_secrets: pull_secrets(ctx),
                init_containers: Some(vec![migrate("migrate-api", api_image)]),
                containers: vec![migrate("migrate-workers", worker_image)],
                volumes: Some(vec![tmp]),
                ..PodSpec::default()
            }),
        },
        ..JobSpec::default()
    };
    let release = short_hash(&serde_json::to_string(&spec).expect("a JobSpec serializes"));
    Job {
        metadata: ctx.meta(ctx.names.migration_job(&release[..8]), "migrations"),
        spec: Some(spec),
        ..Job::default()
    }
}

/// CPU autoscaler for the API. It reads the API container's CPU, not the pod's: the Dapr
/// sidecar has no CPU request, so pod utilisation cannot be computed (dapr/dapr#7813).
pub(super) fn autoscaler(ctx: &Ctx) -> Option<HorizontalPodAutoscaler> {
    let autoscaling = ctx.platform.spec.api.autoscaling.as_ref()?;
    Some(HorizontalPodAutoscaler {
        metadata: ctx.meta(ctx.names.api(), "api"),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: ctx.names.api(),
            },
            min_replicas: Some(autoscaling.min_replicas),
            max_replicas: autoscaling.max_replicas,
            metrics: Some(vec![MetricSpec {
                type_: "ContainerResource".into(),
                container_resource: Some(ContainerResourceMetricSource {
                    container: API_CONTAINER.into(),
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(autoscaling.target_cpu_utilization_percent),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            ..HorizontalPodAutoscalerSpec::default()
        }),
        ..HorizontalPodAutoscaler::default()
    })
}

/// Disruption budget for the API.
pub(super) fn disruption_budget(ctx: &Ctx) -> Option<PodDisruptionBudget> {
    let min_available = ctx.platform.spec.api.min_available?;
    Some(PodDisruptionBudget {
        metadata: ctx.meta(ctx.names.api(), "api"),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(min_available)),
            selector: Some(LabelSelector {
                match_labels: Some(ctx.names.selector_labels("api")),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    })
}
