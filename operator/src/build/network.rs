//! Ingress, NetworkPolicies and the platform URL.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyIngressRule,
    NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Ctx;
use crate::names::{API_PORT, DAPR_METRICS_PORT, INSTANCE_LABEL, WORKER_PORT};

/// The API's public URL when an ingress exists, else its in-cluster URL.
pub(super) fn url(ctx: &Ctx) -> String {
    match &ctx.platform.spec.ingress {
        Some(ingress) if ingress.tls_secret_name.is_some() => format!("https://{}", ingress.host),
        Some(ingress) => format!("http://{}", ingress.host),
        None => format!(
            "http://{}.{}.svc:{API_PORT}",
            ctx.names.api(),
            ctx.names.namespace
        ),
    }
}

/// Ingress routing the host to the API Service, with TLS when a certificate Secret is named.
pub(super) fn ingress(ctx: &Ctx) -> Option<Ingress> {
    let spec = ctx.platform.spec.ingress.as_ref()?;
    let mut metadata = ctx.meta(ctx.names.api(), "api");
    if !spec.annotations.is_empty() {
        metadata.annotations = Some(spec.annotations.clone());
    }
    Some(Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: spec.class_name.clone(),
            tls: spec.tls_secret_name.as_ref().map(|secret| {
                vec![IngressTLS {
                    hosts: Some(vec![spec.host.clone()]),
                    secret_name: Some(secret.clone()),
                }]
            }),
            rules: Some(vec![IngressRule {
                host: Some(spec.host.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: ctx.names.api(),
                                port: Some(ServiceBackendPort {
                                    name: Some("http".into()),
                                    ..ServiceBackendPort::default()
                                }),
                            }),
                            ..IngressBackend::default()
                        },
                    }],
                }),
            }]),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    })
}

fn tcp(port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".into()),
        ..NetworkPolicyPort::default()
    }
}

fn from_platform_pods(ctx: &Ctx) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                INSTANCE_LABEL.to_owned(),
                ctx.names.instance.clone(),
            )])),
            ..LabelSelector::default()
        }),
        ..NetworkPolicyPeer::default()
    }
}

fn from_namespace(name: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "kubernetes.io/metadata.name".to_owned(),
                name.to_owned(),
            )])),
            ..LabelSelector::default()
        }),
        ..NetworkPolicyPeer::default()
    }
}

fn policy(ctx: &Ctx, component: &str, rules: Vec<NetworkPolicyIngressRule>) -> NetworkPolicy {
    let mut selector = BTreeMap::from([(INSTANCE_LABEL.to_owned(), ctx.names.instance.clone())]);
    if component != "platform" {
        selector.insert(crate::names::COMPONENT_LABEL.into(), component.into());
    }
    NetworkPolicy {
        metadata: ctx.meta(format!("{}-{component}", ctx.names.instance), "network"),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(rules),
            ..NetworkPolicySpec::default()
        }),
    }
}

/// Prometheus pods as the Prometheus operator labels them, in any namespace (where monitoring
/// runs differs per cluster; the ServiceMonitor is what tells that Prometheus to scrape us).
fn from_prometheus() -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector::default()),
        pod_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "app.kubernetes.io/name".to_owned(),
                "prometheus".to_owned(),
            )])),
            ..LabelSelector::default()
        }),
        ..NetworkPolicyPeer::default()
    }
}

/// Ingress rules: the platform's pods talk freely to each other (sidecar to sidecar, apps to
/// managed dependencies) and the Dapr control plane reaches the sidecars; from elsewhere only
/// the API's HTTP port and the sidecars' metrics port are open. Dependencies are never
/// reachable from outside the platform.
///
/// The workers' port is not open to other pods: its event routes take no credentials, and the
/// sidecar delivering events reaches the app over localhost, which NetworkPolicy never sees (nor
/// the kubelet's probes, which CNIs let through from the node). The only other client is the
/// `/metrics` scrape, so with `observability.serviceMonitor` Prometheus pods may reach it.
pub(super) fn network_policies(ctx: &Ctx) -> Vec<NetworkPolicy> {
    let internal = NetworkPolicyIngressRule {
        from: Some(vec![
            from_platform_pods(ctx),
            from_namespace(&ctx.platform.spec.dapr.control_plane_namespace),
        ]),
        ..NetworkPolicyIngressRule::default()
    };
    let mut platform = vec![
        internal,
        NetworkPolicyIngressRule {
            ports: Some(vec![tcp(DAPR_METRICS_PORT)]),
            ..NetworkPolicyIngressRule::default()
        },
    ];
    if ctx.platform.spec.observability.service_monitor {
        platform.push(NetworkPolicyIngressRule {
            from: Some(vec![from_prometheus()]),
            ports: Some(vec![tcp(WORKER_PORT)]),
        });
    }
    vec![
        policy(ctx, "platform", platform),
        policy(
            ctx,
            "api",
            vec![NetworkPolicyIngressRule {
                ports: Some(vec![tcp(API_PORT)]),
                ..NetworkPolicyIngressRule::default()
            }],
        ),
    ]
}
