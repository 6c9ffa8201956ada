//! Dapr Components, Subscriptions, Configuration and Resiliency; Redpanda Topics; ServiceMonitor.
//! These kinds come from optional CRDs, so they are built as `DynamicObject`s.

use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{Value, json};

use super::{Ctx, TopicProvisioning};
use crate::crd::{SaslMechanism, TopicDeletionPolicy, TopicProvisioner};
use crate::names::{Stream, WorkerRole};
use todo_contract::{role, route};

/// Dapr Component (dapr.io/v1alpha1).
pub fn component_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("dapr.io", "v1alpha1", "Component"),
        "components",
    )
}

/// Dapr Subscription (dapr.io/v2alpha1).
pub fn subscription_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("dapr.io", "v2alpha1", "Subscription"),
        "subscriptions",
    )
}

/// Dapr Configuration (dapr.io/v1alpha1).
pub fn configuration_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("dapr.io", "v1alpha1", "Configuration"),
        "configurations",
    )
}

/// Dapr Resiliency (dapr.io/v1alpha1).
pub fn resiliency_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("dapr.io", "v1alpha1", "Resiliency"),
        "resiliencies",
    )
}

/// Redpanda operator Topic (cluster.redpanda.com/v1alpha2).
pub fn redpanda_topic_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("cluster.redpanda.com", "v1alpha2", "Topic"),
        "topics",
    )
}

/// Prometheus operator ServiceMonitor (monitoring.coreos.com/v1).
pub fn service_monitor_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "ServiceMonitor"),
        "servicemonitors",
    )
}

fn object(
    ctx: &Ctx,
    resource: &ApiResource,
    name: String,
    component: &str,
    body: Value,
) -> DynamicObject {
    let mut object = DynamicObject::new(&name, resource).data(body);
    object.metadata = ctx.meta(name, component);
    object
}

fn plain(name: &str, value: impl Into<String>) -> Value {
    json!({ "name": name, "value": value.into() })
}

fn from_secret(name: &str, secret: &str, key: &str) -> Value {
    json!({ "name": name, "secretKeyRef": { "name": secret, "key": key } })
}

/// pubsub.kafka, state.postgresql, bindings.cron and secretstores.kubernetes, each scoped to the
/// app-ids that use it.
pub fn components(ctx: &Ctx, roles: &[WorkerRole]) -> Vec<DynamicObject> {
    let names = &ctx.names;
    let resource = component_resource();
    let all_apps = names.app_ids(roles);
    let worker_apps: Vec<String> = roles.iter().map(|r| names.worker(*r)).collect();

    let mut kafka = vec![
        plain("brokers", super::brokers(ctx).join(",")),
        // New consumer groups start at the beginning so events published before a worker first
        // subscribed are not lost.
        plain("initialOffset", "oldest"),
        plain("clientID", names.instance.clone()),
        // Dapr's default consumer group is the bare app-id, which is only unique per namespace:
        // two platforms of one name in two namespaces on one Kafka would split each other's
        // events. Dapr fills in `{appID}` per sidecar; the namespace prefix keeps groups apart.
        plain("consumerGroup", format!("{}.{{appID}}", names.namespace)),
    ];
    match &ctx.platform.spec.eventing.external {
        Some(external) => {
            match &external.sasl {
                Some(sasl) => {
                    kafka.push(plain("authType", "password"));
                    kafka.push(from_secret("saslUsername", &sasl.secret_name, "username"));
                    kafka.push(from_secret("saslPassword", &sasl.secret_name, "password"));
                    kafka.push(plain(
                        "saslMechanism",
                        match sasl.mechanism {
                            SaslMechanism::ScramSha256 => "SHA-256",
                            SaslMechanism::ScramSha512 => "SHA-512",
                            SaslMechanism::Plain => "PLAINTEXT",
                        },
                    ));
                }
                None => kafka.push(plain("authType", "none")),
            }
            match &external.tls {
                Some(tls) => {
                    if let Some(ca) = &tls.ca_secret_ref {
                        kafka.push(from_secret("caCert", &ca.name, &ca.key));
                    }
                }
                None => kafka.push(plain("disableTls", "true")),
            }
        }
        None => {
            kafka.push(plain("authType", "none"));
            kafka.push(plain("disableTls", "true"));
        }
    }
    let database_url = super::workloads::database_url_ref(ctx);
    let mut components = vec![
        object(
            ctx,
            &resource,
            names.pubsub(),
            "dapr",
            json!({
                "spec": { "type": "pubsub.kafka", "version": "v1", "metadata": kafka },
                "scopes": all_apps,
            }),
        ),
        object(
            ctx,
            &resource,
            names.secretstore(),
            "dapr",
            json!({
                "spec": { "type": "secretstores.kubernetes", "version": "v1", "metadata": [] },
                "scopes": all_apps,
            }),
        ),
    ];
    if !worker_apps.is_empty() {
        components.push(object(
            ctx,
            &resource,
            names.statestore(),
            "dapr",
            json!({
                "spec": {
                    "type": "state.postgresql",
                    "version": "v1",
                    "metadata": [
                        from_secret("connectionString", &database_url.0, &database_url.1),
                        plain("tableName", "dapr_state"),
                    ],
                },
                "scopes": worker_apps,
            }),
        ));
    }
    if roles.contains(&WorkerRole::Reminders) {
        components.push(object(
            ctx,
            &resource,
            names.reminder_binding(),
            "dapr",
            json!({
                "spec": {
                    "type": "bindings.cron",
                    "version": "v1",
                    "metadata": [
                        plain("schedule", ctx.platform.spec.reminders.schedule.clone()),
                        plain("direction", "input"),
                    ],
                },
                "scopes": [names.worker(WorkerRole::Reminders)],
            }),
        ));
    }
    components
}

/// Declarative subscriptions: each consumer gets its own, with the stream's dead-letter topic.
pub fn subscriptions(ctx: &Ctx, roles: &[WorkerRole]) -> Vec<DynamicObject> {
    let names = &ctx.names;
    let resource = subscription_resource();
    let mut routes: Vec<(String, String, Stream, &str)> = Vec::new();
    for role in roles {
        match role {
            WorkerRole::Recurrence => {
                routes.push((
                    role::RECURRENCE.into(),
                    names.worker(*role),
                    Stream::TaskEvents,
                    route::TASK_EVENTS,
                ));
            }
            WorkerRole::Audit => {
                routes.push((
                    role::AUDIT.into(),
                    names.worker(*role),
                    Stream::TaskEvents,
                    route::TASK_EVENTS,
                ));
            }
            WorkerRole::Notifier => {
                routes.push((
                    role::NOTIFIER.into(),
                    names.worker(*role),
                    Stream::Reminders,
                    route::REMINDERS,
                ));
            }
            // Reminders is driven by the cron binding and publishes; it subscribes to nothing.
            WorkerRole::Reminders => {}
        }
    }
    routes.push((
        "api".into(),
        names.api(),
        Stream::TaskUpdates,
        route::TASK_UPDATES,
    ));
    routes
        .into_iter()
        .map(|(consumer, app_id, stream, path)| {
            object(
                ctx,
                &resource,
                format!("{}-{consumer}-{}", names.instance, stream.base()),
                "dapr",
                json!({
                    "spec": {
                        "pubsubname": names.pubsub(),
                        "topic": names.topic(stream),
                        "routes": { "default": path },
                        "deadLetterTopic": names.dead_letter_topic(stream),
                    },
                    "scopes": [app_id],
                }),
            )
        })
        .collect()
}

/// Tracing, mTLS and metrics for the platform's sidecars (`dapr.io/config`).
pub fn configuration(ctx: &Ctx) -> DynamicObject {
    let dapr = &ctx.platform.spec.dapr;
    let mut spec = json!({
        "mtls": {
            "enabled": dapr.mtls,
            "controlPlaneTrustDomain": "cluster.local",
            "sentryAddress": format!("dapr-sentry.{}.svc.cluster.local:443", dapr.control_plane_namespace),
        },
        "metric": { "enabled": true },
    });
    spec["tracing"] = match &dapr.tracing {
        Some(tracing) => json!({
            "samplingRate": tracing.sampling_rate,
            "otel": {
                "endpointAddress": tracing.otlp_endpoint,
                "isSecure": tracing.secure,
                "protocol": match tracing.protocol {
                    crate::crd::OtlpProtocol::Grpc => "grpc",
                    crate::crd::OtlpProtocol::Http => "http",
                },
            },
        }),
        None => json!({ "samplingRate": "0" }),
    };
    object(
        ctx,
        &configuration_resource(),
        ctx.names.dapr_config(),
        "dapr",
        json!({ "spec": spec }),
    )
}

/// Retries with backoff for pub/sub (after which Dapr dead-letters), and timeouts, retries and a
/// circuit breaker for worker → API service invocation.
pub fn resiliency(ctx: &Ctx, roles: &[WorkerRole]) -> DynamicObject {
    let names = &ctx.names;
    object(
        ctx,
        &resiliency_resource(),
        names.resiliency(),
        "dapr",
        json!({
            "spec": {
                "policies": {
                    "timeouts": { "serviceCall": "10s", "pubsub": "30s" },
                    "retries": {
                        "pubsubRetry": { "policy": "exponential", "maxInterval": "30s", "maxRetries": 8 },
                        "serviceRetry": { "policy": "constant", "duration": "1s", "maxRetries": 3 },
                    },
                    "circuitBreakers": {
                        "apiBreaker": {
                            "maxRequests": 1,
                            "interval": "10s",
                            "timeout": "30s",
                            "trip": "consecutiveFailures >= 5",
                        },
                    },
                },
                "targets": {
                    "apps": {
                        names.api(): {
                            "timeout": "serviceCall",
                            "retry": "serviceRetry",
                            "circuitBreaker": "apiBreaker",
                        },
                    },
                    "components": {
                        names.pubsub(): {
                            "inbound": { "timeout": "pubsub", "retry": "pubsubRetry" },
                            "outbound": { "retry": "pubsubRetry" },
                        },
                    },
                },
            },
            "scopes": names.app_ids(roles),
        }),
    )
}

/// Redpanda `Topic` resources, one per topic, when the spec delegates topics to the Redpanda
/// operator.
pub fn redpanda_topics(ctx: &Ctx, provisioning: &TopicProvisioning) -> Vec<DynamicObject> {
    let topics_spec = &ctx.platform.spec.eventing.topics;
    let (TopicProvisioner::RedpandaTopic, Some(cluster)) =
        (topics_spec.provisioner, &topics_spec.redpanda_cluster_ref)
    else {
        return Vec::new();
    };
    let resource = redpanda_topic_resource();
    Stream::ALL
        .into_iter()
        .flat_map(|stream| [(stream, false), (stream, true)])
        .map(|(stream, dead_letter)| {
            let topic_name = if dead_letter {
                ctx.names.dead_letter_topic(stream)
            } else {
                ctx.names.topic(stream)
            };
            let plan = provisioning
                .topics
                .iter()
                .find(|t| t.name == topic_name)
                .expect("topic_provisioning plans every stream and its dead-letter topic");
            let mut topic = object(
                ctx,
                &resource,
                ctx.names.topic_resource(stream, dead_letter),
                "topics",
                json!({
                    "spec": {
                        "overwriteTopicName": topic_name,
                        "partitions": plan.partitions,
                        "replicationFactor": plan.replication_factor,
                        "additionalConfig": plan.configs,
                        "cluster": { "clusterRef": { "name": cluster } },
                    },
                }),
            );
            // Deleting a Topic resource deletes the Kafka topic and its data. With Retain the
            // platform must not own them, or garbage collection would delete them with it; the
            // labels still find them for status and a later platform of the same name.
            if topics_spec.deletion_policy == TopicDeletionPolicy::Retain {
                topic.metadata.owner_references = None;
            }
            topic
        })
        .collect()
}

/// ServiceMonitor scraping the apps' `/metrics` and the Dapr sidecars' metrics.
pub fn service_monitor(ctx: &Ctx) -> Option<DynamicObject> {
    if !ctx.platform.spec.observability.service_monitor {
        return None;
    }
    Some(object(
        ctx,
        &service_monitor_resource(),
        ctx.names.instance.clone(),
        "monitoring",
        json!({
            "spec": {
                "selector": {
                    "matchLabels": {
                        crate::names::INSTANCE_LABEL: ctx.names.instance,
                        crate::names::MANAGED_BY_LABEL: crate::names::MANAGED_BY,
                        "todoplatform.dev/metrics": "true",
                    },
                },
                "endpoints": [
                    { "port": "http", "path": "/metrics" },
                    { "port": "dapr-metrics", "path": "/" },
                ],
            },
        }),
    ))
}
