//! Status computed purely from what the reconcile observed. Conditions keep their
//! `lastTransitionTime` unless their status flips, so an unchanged platform produces a byte-equal
//! status and the controller skips the write (and the watch event it would cause).

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::crd::{TodoPlatform, TodoPlatformStatus, TopicState, TopicStatus};

/// Which optional CRDs the cluster serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Dapr Component / Configuration / Resiliency (v1alpha1) and Subscription (v2alpha1).
    pub dapr: bool,
    /// Redpanda operator Topic (cluster.redpanda.com/v1alpha2).
    pub redpanda_topics: bool,
    /// Prometheus operator ServiceMonitor (monitoring.coreos.com/v1).
    pub service_monitor: bool,
}

/// Result of topic provisioning in this reconcile.
#[derive(Clone, Debug, PartialEq)]
pub enum TopicOutcome {
    /// Topics are managed outside the operator.
    NotManaged,
    /// Per-topic results (admin protocol or Redpanda Topic resources).
    Provisioned(Vec<TopicStatus>),
    /// The brokers could not be reached or refused the request.
    Failed {
        /// Condition reason (`BrokersUnavailable`, `AuthenticationFailed`, `TlsFailed`, ...).
        reason: &'static str,
        /// What failed, naming the broker.
        message: String,
    },
    /// Redpanda Topic provisioning chosen but the Redpanda operator's CRD is missing.
    RedpandaOperatorMissing,
}

/// Everything the status is computed from.
#[derive(Clone, Debug)]
pub struct Observed {
    /// Optional CRDs present.
    pub capabilities: Capabilities,
    /// Referenced Secrets that do not exist.
    pub missing_secrets: Vec<String>,
    /// Name of this release's migration Job.
    pub migration_job: String,
    /// The platform's Jobs as read from the cluster.
    pub jobs: Vec<Job>,
    /// The platform's Deployments as read from the cluster.
    pub deployments: Vec<Deployment>,
    /// Names of the Deployments that should exist (API first).
    pub desired_deployments: Vec<String>,
    /// The platform's StatefulSets as read from the cluster.
    pub stateful_sets: Vec<StatefulSet>,
    /// Name of the managed PostgreSQL StatefulSet, when managed.
    pub managed_postgres: Option<String>,
    /// The platform's Ingresses as read from the cluster.
    pub ingresses: Vec<Ingress>,
    /// Whether an ingress is desired.
    pub ingress_desired: bool,
    /// Whether a ServiceMonitor is desired.
    pub service_monitor_desired: bool,
    /// Topic provisioning result.
    pub topics: TopicOutcome,
    /// The platform's URL.
    pub url: String,
}

/// State of the migration Job of the current release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationState {
    /// Created by this reconcile, running or retrying. (A Job this reconcile is about to create
    /// counts as running, so the status written before and after creation is the same.)
    Running,
    /// Finished successfully: the rollout may proceed.
    Succeeded,
    /// Gave up (backoff limit or deadline).
    Failed,
}

/// The current release's migration state.
pub fn migration_state(jobs: &[Job], name: &str) -> MigrationState {
    let Some(job) = jobs
        .iter()
        .find(|j| j.metadata.name.as_deref() == Some(name))
    else {
        return MigrationState::Running;
    };
    let status = job.status.clone().unwrap_or_default();
    let has = |kind: &str| {
        status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == kind && c.status == "True")
    };
    if status.succeeded.unwrap_or(0) > 0 || has("Complete") {
        MigrationState::Succeeded
    } else if has("Failed") {
        MigrationState::Failed
    } else {
        MigrationState::Running
    }
}

fn deployment_available(deployments: &[Deployment], name: &str) -> bool {
    deployments
        .iter()
        .find(|d| d.metadata.name.as_deref() == Some(name))
        .and_then(|d| d.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Available" && c.status == "True")
        })
}

/// A condition before its transition time is settled.
struct Verdict {
    type_: &'static str,
    ok: bool,
    reason: &'static str,
    message: String,
}

fn verdict(
    type_: &'static str,
    ok: bool,
    reason: &'static str,
    message: impl Into<String>,
) -> Verdict {
    Verdict {
        type_,
        ok,
        reason,
        message: message.into(),
    }
}

fn verdicts(observed: &Observed) -> Vec<Verdict> {
    let mut out = Vec::new();
    out.push(if observed.capabilities.dapr {
        verdict("DaprComponentsReady", true, "Applied", "Dapr Components, Subscriptions, Configuration and Resiliency applied")
    } else {
        verdict(
            "DaprComponentsReady",
            false,
            "DaprNotInstalled",
            "the dapr.io CRDs are not installed; install Dapr (helm install dapr dapr/dapr) and the operator retries",
        )
    });
    out.push(match &observed.topics {
        TopicOutcome::NotManaged => verdict("TopicsReady", true, "ManagedExternally", "topics are provisioned outside the operator"),
        TopicOutcome::Provisioned(topics) => {
            let failed: Vec<String> = topics
                .iter()
                .filter(|t| t.state == TopicState::Failed)
                .map(|t| format!("{}: {}", t.name, t.message.clone().unwrap_or_default()))
                .collect();
            if failed.is_empty() {
                verdict("TopicsReady", true, "Provisioned", format!("{} topics provisioned", topics.len()))
            } else {
                verdict("TopicsReady", false, "ProvisioningFailed", failed.join("; "))
            }
        }
        TopicOutcome::Failed { reason, message } => verdict("TopicsReady", false, reason, message.clone()),
        TopicOutcome::RedpandaOperatorMissing => verdict(
            "TopicsReady",
            false,
            "RedpandaOperatorNotInstalled",
            "provisioner RedpandaTopic needs the cluster.redpanda.com Topic CRD (Redpanda operator)",
        ),
    });
    out.push(if !observed.missing_secrets.is_empty() {
        verdict(
            "DatabaseReady",
            false,
            "SecretNotFound",
            format!(
                "referenced Secrets not found: {}",
                observed.missing_secrets.join(", ")
            ),
        )
    } else if let Some(postgres) = &observed.managed_postgres {
        let ready = observed
            .stateful_sets
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(postgres.as_str()))
            .and_then(|s| s.status.as_ref())
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0)
            > 0;
        if ready {
            verdict(
                "DatabaseReady",
                true,
                "ManagedReady",
                "managed PostgreSQL is ready",
            )
        } else {
            verdict(
                "DatabaseReady",
                false,
                "ManagedStarting",
                "managed PostgreSQL is starting",
            )
        }
    } else {
        verdict(
            "DatabaseReady",
            true,
            "SecretFound",
            "external database Secret found",
        )
    });
    out.push(match migration_state(&observed.jobs, &observed.migration_job) {
        MigrationState::Succeeded => verdict("MigrationsComplete", true, "Succeeded", format!("Job {} succeeded", observed.migration_job)),
        MigrationState::Failed => verdict(
            "MigrationsComplete",
            false,
            "Failed",
            format!("Job {} failed; rollout held. Inspect its logs, fix, then delete the Job to retry", observed.migration_job),
        ),
        MigrationState::Running => verdict("MigrationsComplete", false, "Running", format!("Job {} is running; rollout waits", observed.migration_job)),
    });
    let (api, workers) = observed
        .desired_deployments
        .split_first()
        .map(|(api, workers)| (api.clone(), workers.to_vec()))
        .unwrap_or_default();
    out.push(if deployment_available(&observed.deployments, &api) {
        verdict(
            "ApiAvailable",
            true,
            "MinimumReplicasAvailable",
            format!("Deployment {api} is available"),
        )
    } else {
        verdict(
            "ApiAvailable",
            false,
            "Unavailable",
            format!("Deployment {api} is not available yet"),
        )
    });
    let unavailable: Vec<String> = workers
        .iter()
        .filter(|w| !deployment_available(&observed.deployments, w))
        .cloned()
        .collect();
    out.push(if unavailable.is_empty() {
        verdict(
            "WorkersAvailable",
            true,
            "MinimumReplicasAvailable",
            "all worker Deployments are available",
        )
    } else {
        verdict(
            "WorkersAvailable",
            false,
            "Unavailable",
            format!("not available yet: {}", unavailable.join(", ")),
        )
    });
    out.push(if !observed.ingress_desired {
        verdict("IngressReady", true, "NotRequested", "no ingress requested")
    } else if observed.ingresses.iter().any(|i| {
        i.status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .is_some_and(|addresses| !addresses.is_empty())
    }) {
        verdict(
            "IngressReady",
            true,
            "AddressAssigned",
            "the ingress controller assigned an address",
        )
    } else {
        verdict(
            "IngressReady",
            false,
            "AddressPending",
            "waiting for the ingress controller to assign an address",
        )
    });
    if observed.service_monitor_desired {
        out.push(if observed.capabilities.service_monitor {
            verdict("MonitoringReady", true, "Applied", "ServiceMonitor applied")
        } else {
            verdict(
                "MonitoringReady",
                false,
                "ServiceMonitorCrdMissing",
                "observability.serviceMonitor is on but the monitoring.coreos.com CRD is not installed",
            )
        });
    }
    out
}

/// The status for `platform` given what was observed. `now` is used only for conditions whose
/// status changed (or are new).
pub fn compute(platform: &TodoPlatform, observed: &Observed, now: Time) -> TodoPlatformStatus {
    let previous = platform.status.clone().unwrap_or_default();
    let generation = platform.metadata.generation;
    let verdicts = verdicts(observed);
    let failing: Vec<&str> = verdicts.iter().filter(|v| !v.ok).map(|v| v.type_).collect();
    let ready = if failing.is_empty() {
        verdict("Ready", true, "AllReady", "the platform is up")
    } else {
        let first = verdicts
            .iter()
            .find(|v| !v.ok)
            .expect("failing is not empty");
        verdict(
            "Ready",
            false,
            first.reason,
            format!("not ready: {}", failing.join(", ")),
        )
    };
    // kstatus (Flux `wait`, Argo CD health) reads Reconciling/Stalled: in progress vs. stuck
    // until a human acts.
    let stalled = verdicts
        .iter()
        .any(|v| v.type_ == "MigrationsComplete" && v.reason == "Failed");
    let reconciling = if failing.is_empty() {
        verdict(
            "Reconciling",
            false,
            "Reconciled",
            "the platform matches its spec",
        )
    } else {
        verdict(
            "Reconciling",
            !stalled,
            "Progressing",
            format!("waiting for: {}", failing.join(", ")),
        )
    };
    let stalled = if stalled {
        verdict(
            "Stalled",
            true,
            "MigrationFailed",
            "the migration Job failed; see MigrationsComplete",
        )
    } else {
        verdict("Stalled", false, "NotStalled", "nothing needs a human")
    };
    let conditions = [ready, reconciling, stalled]
        .into_iter()
        .chain(verdicts)
        .map(|v| {
            let status = if v.ok { "True" } else { "False" };
            let since = previous
                .conditions
                .iter()
                .find(|c| c.type_ == v.type_ && c.status == status)
                .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
            Condition {
                type_: v.type_.into(),
                status: status.into(),
                reason: v.reason.into(),
                message: v.message,
                observed_generation: generation,
                last_transition_time: since,
            }
        })
        .collect();
    let topics = match &observed.topics {
        TopicOutcome::Provisioned(topics) => topics.clone(),
        _ => Vec::new(),
    };
    TodoPlatformStatus {
        observed_generation: generation,
        conditions,
        url: Some(observed.url.clone()),
        topics,
    }
}

/// True when every condition is True.
pub fn is_ready(status: &TodoPlatformStatus) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}
