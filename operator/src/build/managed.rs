//! Generated Secrets and the managed single-node PostgreSQL and Redpanda for dev clusters.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, ExecAction,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSecurityContext, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, SeccompProfile, Secret, SecretKeySelector, SecurityContext,
    Service, ServicePort, ServiceSpec, TCPSocketAction, Volume, VolumeMount,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Ctx, ManagedDependency};
use crate::names::{KAFKA_PORT, POSTGRES_PORT};

/// Secrets whose values the operator generated: the Dapr app token, the JWT secret (unless the
/// spec references one) and the managed PostgreSQL credentials.
pub(super) fn generated_secrets(ctx: &Ctx) -> Vec<Secret> {
    let spec = &ctx.platform.spec;
    let generated = &ctx.inputs.generated;
    // Dapr presents this token to todo-api on every call it forwards (`dapr-api-token`), so the
    // API's internal routes accept only calls that came through a sidecar, never via the ingress.
    let mut secrets = vec![secret(
        ctx,
        ctx.names.app_token_secret(),
        "dapr",
        [("token", generated.app_token.clone())],
    )];
    if spec.auth.jwt_secret_ref.is_none() {
        secrets.push(secret(
            ctx,
            ctx.names.jwt_secret(),
            "auth",
            [("secret", generated.jwt_secret.clone())],
        ));
    }
    if spec.database.managed.is_some() {
        let url = format!(
            "postgres://todo:{}@{}.{}.svc:{POSTGRES_PORT}/todo",
            generated.postgres_password,
            ctx.names.postgres(),
            ctx.names.namespace
        );
        secrets.push(secret(
            ctx,
            ctx.names.postgres(),
            "postgres",
            [
                ("password", generated.postgres_password.clone()),
                ("url", url),
            ],
        ));
    }
    secrets
}

fn secret<const N: usize>(
    ctx: &Ctx,
    name: String,
    component: &str,
    data: [(&str, String); N],
) -> Secret {
    Secret {
        metadata: ctx.meta(name, component),
        type_: Some("Opaque".into()),
        data: Some(
            data.into_iter()
                .map(|(key, value)| (key.to_owned(), ByteString(value.into_bytes())))
                .collect(),
        ),
        ..Secret::default()
    }
}

/// Settings shared by both single-node StatefulSets.
struct SingleNode {
    name: String,
    component: &'static str,
    image: String,
    uid: i64,
    port: (&'static str, i32),
    args: Vec<String>,
    env: Vec<EnvVar>,
    data_path: &'static str,
    /// (volume name, path) of writable scratch directories; the root filesystem is read-only.
    scratch: &'static [(&'static str, &'static str)],
    storage: String,
    storage_class_name: Option<String>,
    readiness: Probe,
    memory: &'static str,
}

fn single_node(ctx: &Ctx, node: SingleNode) -> ManagedDependency {
    let selector = ctx.names.selector_labels(node.component);
    let service = Service {
        metadata: ctx.meta(node.name.clone(), node.component),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            selector: Some(selector.clone()),
            ports: Some(vec![ServicePort {
                name: Some(node.port.0.into()),
                port: node.port.1,
                target_port: Some(IntOrString::String(node.port.0.into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    let stateful_set = StatefulSet {
        metadata: ctx.meta(node.name.clone(), node.component),
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(node.name.clone()),
            selector: LabelSelector {
                match_labels: Some(selector),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(ctx.labels(node.component)),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(node.uid),
                        run_as_group: Some(node.uid),
                        fs_group: Some(node.uid),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..SeccompProfile::default()
                        }),
                        ..PodSecurityContext::default()
                    }),
                    automount_service_account_token: Some(false),
                    containers: vec![Container {
                        name: node.component.into(),
                        image: Some(node.image),
                        args: (!node.args.is_empty()).then_some(node.args),
                        env: (!node.env.is_empty()).then_some(node.env),
                        ports: Some(vec![ContainerPort {
                            name: Some(node.port.0.into()),
                            container_port: node.port.1,
                            protocol: Some("TCP".into()),
                            ..ContainerPort::default()
                        }]),
                        readiness_probe: Some(node.readiness),
                        liveness_probe: Some(Probe {
                            tcp_socket: Some(TCPSocketAction {
                                port: IntOrString::String(node.port.0.into()),
                                ..TCPSocketAction::default()
                            }),
                            initial_delay_seconds: Some(30),
                            period_seconds: Some(10),
                            ..Probe::default()
                        }),
                        resources: Some(ResourceRequirements {
                            requests: Some(BTreeMap::from([
                                ("cpu".to_owned(), Quantity("100m".into())),
                                ("memory".to_owned(), Quantity(node.memory.into())),
                            ])),
                            limits: Some(BTreeMap::from([(
                                "memory".to_owned(),
                                Quantity(node.memory.into()),
                            )])),
                            ..ResourceRequirements::default()
                        }),
                        security_context: Some(SecurityContext {
                            allow_privilege_escalation: Some(false),
                            read_only_root_filesystem: Some(true),
                            capabilities: Some(Capabilities {
                                drop: Some(vec!["ALL".into()]),
                                ..Capabilities::default()
                            }),
                            ..SecurityContext::default()
                        }),
                        volume_mounts: Some(
                            std::iter::once(VolumeMount {
                                name: "data".into(),
                                mount_path: node.data_path.into(),
                                ..VolumeMount::default()
                            })
                            .chain(node.scratch.iter().map(|(name, path)| VolumeMount {
                                name: (*name).into(),
                                mount_path: (*path).into(),
                                ..VolumeMount::default()
                            }))
                            .collect(),
                        ),
                        ..Container::default()
                    }],
                    volumes: Some(
                        node.scratch
                            .iter()
                            .map(|(name, _)| Volume {
                                name: (*name).into(),
                                empty_dir: Some(EmptyDirVolumeSource::default()),
                                ..Volume::default()
                            })
                            .collect(),
                    ),
                    ..PodSpec::default()
                }),
            },
            volume_claim_templates: Some(vec![PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some("data".into()),
                    labels: Some(ctx.names.selector_labels(node.component)),
                    ..ObjectMeta::default()
                },
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".into()]),
                    storage_class_name: node.storage_class_name,
                    resources: Some(VolumeResourceRequirements {
                        requests: Some(BTreeMap::from([(
                            "storage".to_owned(),
                            Quantity(node.storage),
                        )])),
                        ..VolumeResourceRequirements::default()
                    }),
                    ..PersistentVolumeClaimSpec::default()
                }),
                ..PersistentVolumeClaim::default()
            }]),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    };
    ManagedDependency {
        stateful_set,
        service,
    }
}

/// Managed single-node PostgreSQL (user and database `todo`).
pub(super) fn postgres(ctx: &Ctx) -> Option<ManagedDependency> {
    let managed = ctx.platform.spec.database.managed.as_ref()?;
    let password = EnvVar {
        name: "POSTGRES_PASSWORD".into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: ctx.names.postgres(),
                key: "password".into(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    };
    let plain = |name: &str, value: &str| EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..EnvVar::default()
    };
    Some(single_node(
        ctx,
        SingleNode {
            name: ctx.names.postgres(),
            component: "postgres",
            image: managed.image.clone(),
            // The alpine image's postgres user.
            uid: 70,
            port: ("postgres", POSTGRES_PORT),
            args: Vec::new(),
            env: vec![
                plain("POSTGRES_USER", "todo"),
                plain("POSTGRES_DB", "todo"),
                password,
                plain("PGDATA", "/var/lib/postgresql/data/pgdata"),
            ],
            data_path: "/var/lib/postgresql/data",
            scratch: &[("run", "/var/run"), ("tmp", "/tmp")],
            storage: managed.storage.clone(),
            storage_class_name: managed.storage_class_name.clone(),
            readiness: Probe {
                exec: Some(ExecAction {
                    command: Some(vec![
                        "pg_isready".into(),
                        "-U".into(),
                        "todo".into(),
                        "-d".into(),
                        "todo".into(),
                    ]),
                }),
                period_seconds: Some(5),
                ..Probe::default()
            },
            memory: "256Mi",
        },
    ))
}

/// Managed single-node Redpanda in dev-container mode.
pub(super) fn redpanda(ctx: &Ctx) -> Option<ManagedDependency> {
    let managed = ctx.platform.spec.eventing.managed.as_ref()?;
    let advertised = format!(
        "PLAINTEXT://{}.{}.svc:{KAFKA_PORT}",
        ctx.names.redpanda(),
        ctx.names.namespace
    );
    Some(single_node(
        ctx,
        SingleNode {
            name: ctx.names.redpanda(),
            component: "redpanda",
            image: managed.image.clone(),
            // The redpanda image's redpanda user.
            uid: 101,
            port: ("kafka", KAFKA_PORT),
            args: [
                "redpanda",
                "start",
                "--mode=dev-container",
                "--smp=1",
                "--memory=512M",
                "--reserve-memory=0M",
                "--overprovisioned",
                "--default-log-level=warn",
                &format!("--kafka-addr=PLAINTEXT://0.0.0.0:{KAFKA_PORT}"),
                &format!("--advertise-kafka-addr={advertised}"),
            ]
            .map(str::to_owned)
            .to_vec(),
            env: Vec::new(),
            data_path: "/var/lib/redpanda/data",
            // `redpanda start` writes its config to /etc/redpanda.
            scratch: &[("config", "/etc/redpanda"), ("tmp", "/tmp")],
            storage: managed.storage.clone(),
            storage_class_name: managed.storage_class_name.clone(),
            readiness: Probe {
                exec: Some(ExecAction {
                    command: Some(vec![
                        "rpk".into(),
                        "cluster".into(),
                        "health".into(),
                        "--exit-when-healthy".into(),
                    ]),
                }),
                period_seconds: Some(10),
                timeout_seconds: Some(5),
                ..Probe::default()
            },
            memory: "1Gi",
        },
    ))
}
