//! Status computed purely from what the reconcile observed. Conditions keep their
//! `lastTransitionTime` unless their status flips, so an unchanged platform produces a byte-equal
//! status and the controller skips the write (and the watch event it would cause).
//!
//! kstatus (Flux, Argo CD, `kubectl wait`) reads `Ready`, `Reconciling` and `Stalled`:
//! `Reconciling=True` while the platform can still get Ready on its own, `Stalled=True` when
//! only a human can help (a missing Secret or CRD, a failed migration, an invalid spec, a child
//! the API server refuses), with the cause as reason and message.

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
    /// Prometheus operator PrometheusRule (monitoring.coreos.com/v1).
    pub prometheus_rule: bool,
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

/// A child whose apply failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyFailure {
    /// Its kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The API server's message.
    pub message: String,
    /// The API server refused the object itself (invalid, forbidden, immutable): retrying
    /// cannot help until someone changes the spec, the child or the operator's permissions.
    pub needs_human: bool,
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
    /// The platform's Deployments as read from the cluster after this reconcile's applies.
    pub deployments: Vec<Deployment>,
    /// Names of the Deployments that should exist (API first).
    pub desired_deployments: Vec<String>,
    /// The platform's StatefulSets as read from the cluster.
    pub stateful_sets: Vec<StatefulSet>,
    /// Name of the managed PostgreSQL StatefulSet, when managed.
    pub managed_postgres: Option<String>,
    /// The platform's Ingresses as read from the cluster.
    pub ingresses: Vec<Ingress>,
    /// Children the API server refused in this reconcile.
    pub apply_failures: Vec<ApplyFailure>,
    /// Whether an ingress is desired.
    pub ingress_desired: bool,
    /// Whether a ServiceMonitor is desired.
    pub service_monitor_desired: bool,
    /// Whether a PrometheusRule is desired.
    pub prometheus_rule_desired: bool,
    /// Topic provisioning result.
    pub topics: TopicOutcome,
    /// The platform's URL.
    pub url: String,
}

/// Condition types, one place for the controller, the status and the tests.
pub mod types {
    /// The summary kstatus and `kubectl get` show.
    pub const READY: &str = "Ready";
    /// kstatus: progressing without a human.
    pub const RECONCILING: &str = "Reconciling";
    /// kstatus: stuck until a human acts.
    pub const STALLED: &str = "Stalled";
    /// Reconciliation paused by annotation.
    pub const PAUSED: &str = "Paused";
    /// Every child was accepted by the API server.
    pub const CHILDREN_APPLIED: &str = "ChildrenApplied";
    /// Dapr Components, Subscriptions, Configuration and Resiliency.
    pub const DAPR_COMPONENTS_READY: &str = "DaprComponentsReady";
    /// Topics exist.
    pub const TOPICS_READY: &str = "TopicsReady";
    /// Database reachable (Secret present or managed PostgreSQL ready).
    pub const DATABASE_READY: &str = "DatabaseReady";
    /// This release's migration Job succeeded.
    pub const MIGRATIONS_COMPLETE: &str = "MigrationsComplete";
    /// The API Deployment is rolled out and available.
    pub const API_AVAILABLE: &str = "ApiAvailable";
    /// Every worker Deployment is rolled out and available.
    pub const WORKERS_AVAILABLE: &str = "WorkersAvailable";
    /// The Ingress exists.
    pub const INGRESS_READY: &str = "IngressReady";
    /// The ServiceMonitor and PrometheusRule exist (when asked for).
    pub const MONITORING_READY: &str = "MonitoringReady";
}

/// Condition reasons.
pub mod reasons {
    /// Ready: everything is up.
    pub const ALL_READY: &str = "AllReady";
    /// Reconciling: making progress.
    pub const PROGRESSING: &str = "Progressing";
    /// Reconciling: nothing left to do.
    pub const RECONCILED: &str = "Reconciled";
    /// Reconciling=False because Stalled=True.
    pub const STALLED: &str = "Stalled";
    /// Stalled: nothing needs a human.
    pub const NOT_STALLED: &str = "NotStalled";
    /// Paused / Reconciling=False while the paused annotation is set.
    pub const PAUSED_BY_ANNOTATION: &str = "PausedByAnnotation";
    /// The API server refused a child.
    pub const APPLY_FAILED: &str = "ApplyFailed";
    /// Children applied.
    pub const APPLIED: &str = "Applied";
    /// The spec breaks an admission rule.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// Reading the cluster failed before anything could be built.
    pub const DEREFERENCE_FAILED: &str = "DereferenceFailed";
    /// The dapr.io CRDs are missing.
    pub const DAPR_NOT_INSTALLED: &str = "DaprNotInstalled";
    /// Topics are someone else's job.
    pub const MANAGED_EXTERNALLY: &str = "ManagedExternally";
    /// Topics provisioned.
    pub const PROVISIONED: &str = "Provisioned";
    /// Some topics failed.
    pub const PROVISIONING_FAILED: &str = "ProvisioningFailed";
    /// The cluster.redpanda.com Topic CRD is missing.
    pub const REDPANDA_OPERATOR_NOT_INSTALLED: &str = "RedpandaOperatorNotInstalled";
    /// A referenced Secret is missing.
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    /// Managed PostgreSQL ready.
    pub const MANAGED_READY: &str = "ManagedReady";
    /// Managed PostgreSQL starting.
    pub const MANAGED_STARTING: &str = "ManagedStarting";
    /// External database Secret present.
    pub const SECRET_FOUND: &str = "SecretFound";
    /// Migration Job succeeded.
    pub const SUCCEEDED: &str = "Succeeded";
    /// Migration Job failed.
    pub const FAILED: &str = "Failed";
    /// Migration Job running.
    pub const RUNNING: &str = "Running";
    /// Deployments available.
    pub const MINIMUM_REPLICAS_AVAILABLE: &str = "MinimumReplicasAvailable";
    /// A Deployment is still rolling out.
    pub const ROLLING_OUT: &str = "RollingOut";
    /// A Deployment exceeded its progress deadline.
    pub const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";
    /// No ingress in the spec.
    pub const NOT_REQUESTED: &str = "NotRequested";
    /// The Ingress is not there yet.
    pub const NOT_APPLIED: &str = "NotApplied";
    /// ServiceMonitor wanted but its CRD is missing.
    pub const SERVICE_MONITOR_CRD_MISSING: &str = "ServiceMonitorCrdMissing";
    /// PrometheusRule wanted but its CRD is missing.
    pub const PROMETHEUS_RULE_CRD_MISSING: &str = "PrometheusRuleCrdMissing";
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

/// A Deployment's rollout as kstatus judges it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rollout {
    /// Every replica runs the current template and is available.
    Complete,
    /// Still rolling out (or not created yet); the message says what it waits for.
    InProgress(String),
    /// The Deployment controller gave up (progress deadline exceeded).
    Failed(String),
}

/// kstatus' rules for a Deployment: the controller has seen the current generation, every
/// desired replica is updated, no old replica is left, the updated ones are available, and
/// the Available condition is True. Read after applying, so a spec change this reconcile
/// made (generation ahead of observedGeneration) is in progress, not Ready.
pub fn rollout(deployments: &[Deployment], name: &str) -> Rollout {
    let Some(deployment) = deployments
        .iter()
        .find(|d| d.metadata.name.as_deref() == Some(name))
    else {
        return Rollout::InProgress(format!("Deployment {name} does not exist yet"));
    };
    let status = deployment.status.clone().unwrap_or_default();
    let condition = |type_: &str| {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == type_)
            .cloned()
    };
    if let Some(progressing) = condition("Progressing")
        && progressing.reason.as_deref() == Some("ProgressDeadlineExceeded")
    {
        return Rollout::Failed(format!(
            "Deployment {name}: {}",
            progressing.message.unwrap_or_default()
        ));
    }
    let generation = deployment.metadata.generation.unwrap_or(0);
    if status.observed_generation.unwrap_or(0) < generation {
        return Rollout::InProgress(format!(
            "Deployment {name}: the new generation is not observed yet"
        ));
    }
    let desired = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < desired {
        return Rollout::InProgress(format!(
            "Deployment {name}: {updated} of {desired} replicas updated"
        ));
    }
    if total > updated {
        return Rollout::InProgress(format!(
            "Deployment {name}: {} old replicas pending termination",
            total - updated
        ));
    }
    if available < updated {
        return Rollout::InProgress(format!(
            "Deployment {name}: {available} of {updated} updated replicas available"
        ));
    }
    if condition("Available").is_none_or(|c| c.status != "True") {
        return Rollout::InProgress(format!("Deployment {name} is not Available yet"));
    }
    Rollout::Complete
}

/// A condition before its transition time is settled.
struct Verdict {
    type_: &'static str,
    ok: bool,
    /// Failing, and only a human can fix it (kstatus Stalled).
    stalled: bool,
    reason: &'static str,
    message: String,
}

fn ok(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Verdict {
    Verdict {
        type_,
        ok: true,
        stalled: false,
        reason,
        message: message.into(),
    }
}

/// Failing, but progress can happen without a human.
fn waiting(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Verdict {
    Verdict {
        ok: false,
        ..ok(type_, reason, message)
    }
}

/// Failing until a human acts.
fn stuck(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Verdict {
    Verdict {
        ok: false,
        stalled: true,
        ..ok(type_, reason, message)
    }
}

fn deployments_verdict(
    type_: &'static str,
    deployments: &[Deployment],
    names: &[String],
    available: String,
) -> Verdict {
    let mut waiting_for = Vec::new();
    let mut failed = Vec::new();
    for name in names {
        match rollout(deployments, name) {
            Rollout::Complete => {}
            Rollout::InProgress(message) => waiting_for.push(message),
            Rollout::Failed(message) => failed.push(message),
        }
    }
    if !failed.is_empty() {
        stuck(
            type_,
            reasons::PROGRESS_DEADLINE_EXCEEDED,
            failed.join("; "),
        )
    } else if !waiting_for.is_empty() {
        waiting(type_, reasons::ROLLING_OUT, waiting_for.join("; "))
    } else {
        ok(type_, reasons::MINIMUM_REPLICAS_AVAILABLE, available)
    }
}

fn verdicts(observed: &Observed) -> Vec<Verdict> {
    use reasons as r;
    use types as t;
    let mut out = Vec::new();
    out.push(if observed.apply_failures.is_empty() {
        ok(t::CHILDREN_APPLIED, r::APPLIED, "every child is applied")
    } else {
        let message = observed
            .apply_failures
            .iter()
            .map(|f| format!("{} {}: {}", f.kind, f.name, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        let message = format!("the API server refused {message}");
        if observed.apply_failures.iter().any(|f| f.needs_human) {
            stuck(t::CHILDREN_APPLIED, r::APPLY_FAILED, message)
        } else {
            waiting(t::CHILDREN_APPLIED, r::APPLY_FAILED, message)
        }
    });
    out.push(if observed.capabilities.dapr {
        ok(
            t::DAPR_COMPONENTS_READY,
            r::APPLIED,
            "Dapr Components, Subscriptions, Configuration and Resiliency applied",
        )
    } else {
        stuck(
            t::DAPR_COMPONENTS_READY,
            r::DAPR_NOT_INSTALLED,
            "the dapr.io CRDs are not installed; install Dapr (helm install dapr dapr/dapr) and the operator retries",
        )
    });
    out.push(match &observed.topics {
        TopicOutcome::NotManaged => ok(
            t::TOPICS_READY,
            r::MANAGED_EXTERNALLY,
            "topics are provisioned outside the operator",
        ),
        TopicOutcome::Provisioned(topics) => {
            let failed: Vec<String> = topics
                .iter()
                .filter(|t| t.state == TopicState::Failed)
                .map(|t| format!("{}: {}", t.name, t.message.clone().unwrap_or_default()))
                .collect();
            if failed.is_empty() {
                ok(
                    t::TOPICS_READY,
                    r::PROVISIONED,
                    format!("{} topics provisioned", topics.len()),
                )
            } else {
                waiting(t::TOPICS_READY, r::PROVISIONING_FAILED, failed.join("; "))
            }
        }
        // Rejected credentials or certificates need a human; an outage does not.
        TopicOutcome::Failed { reason, message }
            if matches!(
                *reason,
                "AuthenticationFailed" | "TlsFailed" | "CredentialsInvalid"
            ) =>
        {
            stuck(t::TOPICS_READY, reason, message.clone())
        }
        TopicOutcome::Failed { reason, message } => {
            waiting(t::TOPICS_READY, reason, message.clone())
        }
        TopicOutcome::RedpandaOperatorMissing => stuck(
            t::TOPICS_READY,
            r::REDPANDA_OPERATOR_NOT_INSTALLED,
            "provisioner RedpandaTopic needs the cluster.redpanda.com Topic CRD (Redpanda operator)",
        ),
    });
    out.push(if !observed.missing_secrets.is_empty() {
        stuck(
            t::DATABASE_READY,
            r::SECRET_NOT_FOUND,
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
            ok(
                t::DATABASE_READY,
                r::MANAGED_READY,
                "managed PostgreSQL is ready",
            )
        } else {
            waiting(
                t::DATABASE_READY,
                r::MANAGED_STARTING,
                "managed PostgreSQL is starting",
            )
        }
    } else {
        ok(
            t::DATABASE_READY,
            r::SECRET_FOUND,
            "external database Secret found",
        )
    });
    let job = &observed.migration_job;
    out.push(match migration_state(&observed.jobs, job) {
        MigrationState::Succeeded => ok(
            t::MIGRATIONS_COMPLETE,
            r::SUCCEEDED,
            format!("Job {job} succeeded"),
        ),
        MigrationState::Failed => stuck(
            t::MIGRATIONS_COMPLETE,
            r::FAILED,
            format!(
                "Job {job} failed; rollout held. Inspect its logs, fix, then delete the Job to retry"
            ),
        ),
        MigrationState::Running => waiting(
            t::MIGRATIONS_COMPLETE,
            r::RUNNING,
            format!("Job {job} is running; rollout waits"),
        ),
    });
    let (api, workers) = observed
        .desired_deployments
        .split_first()
        .map(|(api, workers)| (vec![api.clone()], workers.to_vec()))
        .unwrap_or_default();
    out.push(deployments_verdict(
        t::API_AVAILABLE,
        &observed.deployments,
        &api,
        format!("Deployment {} is available", api.join("")),
    ));
    out.push(deployments_verdict(
        t::WORKERS_AVAILABLE,
        &observed.deployments,
        &workers,
        "all worker Deployments are available".into(),
    ));
    out.push(if !observed.ingress_desired {
        ok(t::INGRESS_READY, r::NOT_REQUESTED, "no ingress requested")
    } else if let Some(ingress) = observed.ingresses.first() {
        // Many ingress controllers never publish an address; the Ingress existing is what the
        // operator controls. The address is reported when there is one.
        let addresses: Vec<String> = ingress
            .status
            .iter()
            .filter_map(|s| s.load_balancer.as_ref())
            .flat_map(|lb| lb.ingress.iter().flatten())
            .filter_map(|a| a.hostname.clone().or_else(|| a.ip.clone()))
            .collect();
        let name = ingress.metadata.name.clone().unwrap_or_default();
        ok(
            t::INGRESS_READY,
            r::APPLIED,
            if addresses.is_empty() {
                format!("Ingress {name} applied")
            } else {
                format!("Ingress {name} applied; address {}", addresses.join(", "))
            },
        )
    } else {
        waiting(
            t::INGRESS_READY,
            r::NOT_APPLIED,
            "the Ingress is not applied yet",
        )
    });
    let monitoring = [
        (
            observed.service_monitor_desired,
            observed.capabilities.service_monitor,
            "ServiceMonitor",
            r::SERVICE_MONITOR_CRD_MISSING,
            "observability.serviceMonitor",
        ),
        (
            observed.prometheus_rule_desired,
            observed.capabilities.prometheus_rule,
            "PrometheusRule",
            r::PROMETHEUS_RULE_CRD_MISSING,
            "observability.prometheusRules",
        ),
    ];
    let desired: Vec<_> = monitoring.iter().filter(|m| m.0).collect();
    if !desired.is_empty() {
        out.push(match desired.iter().find(|(_, served, ..)| !served) {
            Some((_, _, _, reason, field)) => stuck(
                t::MONITORING_READY,
                reason,
                format!("{field} is on but the monitoring.coreos.com CRD is not installed"),
            ),
            None => ok(
                t::MONITORING_READY,
                r::APPLIED,
                format!(
                    "{} applied",
                    desired
                        .iter()
                        .map(|m| m.2)
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            ),
        });
    }
    out
}

/// The kstatus summary conditions (Ready, Reconciling, Stalled) over the concern verdicts.
fn summary(verdicts: &[Verdict]) -> [Verdict; 3] {
    use reasons as r;
    use types as t;
    let failing: Vec<&Verdict> = verdicts.iter().filter(|v| !v.ok).collect();
    let stalled: Vec<&Verdict> = failing.iter().copied().filter(|v| v.stalled).collect();
    let Some(first) = failing.first() else {
        return [
            ok(t::READY, r::ALL_READY, "the platform is up"),
            Verdict {
                ok: false,
                ..ok(
                    t::RECONCILING,
                    r::RECONCILED,
                    "the platform matches its spec",
                )
            },
            Verdict {
                ok: false,
                ..ok(t::STALLED, r::NOT_STALLED, "nothing needs a human")
            },
        ];
    };
    let names: Vec<&str> = failing.iter().map(|v| v.type_).collect();
    let ready = waiting(
        t::READY,
        first.reason,
        format!("{}; not ready: {}", first.message, names.join(", ")),
    );
    match stalled.first() {
        Some(cause) => [
            ready,
            waiting(
                t::RECONCILING,
                r::STALLED,
                "stalled until a human acts; see Stalled",
            ),
            ok(
                t::STALLED,
                cause.reason,
                stalled
                    .iter()
                    .map(|v| v.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ],
        None => [
            ready,
            ok(
                t::RECONCILING,
                r::PROGRESSING,
                format!("waiting for: {}", names.join(", ")),
            ),
            waiting(t::STALLED, r::NOT_STALLED, "nothing needs a human"),
        ],
    }
}

/// Conditions from verdicts; each keeps its previous transition time unless its status flips.
fn conditions(
    platform: &TodoPlatform,
    verdicts: impl IntoIterator<Item = Verdict>,
    now: &Time,
) -> Vec<Condition> {
    let previous = platform.status.clone().unwrap_or_default();
    verdicts
        .into_iter()
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
                observed_generation: platform.metadata.generation,
                last_transition_time: since,
            }
        })
        .collect()
}

/// The status for `platform` given what was observed. `now` is used only for conditions whose
/// status changed (or are new).
pub fn compute(platform: &TodoPlatform, observed: &Observed, now: Time) -> TodoPlatformStatus {
    let verdicts = verdicts(observed);
    let head = summary(&verdicts);
    let topics = match &observed.topics {
        TopicOutcome::Provisioned(topics) => topics.clone(),
        _ => Vec::new(),
    };
    TodoPlatformStatus {
        observed_generation: platform.metadata.generation,
        conditions: conditions(platform, head.into_iter().chain(verdicts), &now),
        url: Some(observed.url.clone()),
        topics,
    }
}

/// A reconcile step failed before the children could be judged (invalid spec, unreadable
/// cluster). Ready, Reconciling and Stalled say which step and why; the concern conditions of
/// the last full reconcile stay, since nothing newer is known about them.
pub fn step_failed(
    platform: &TodoPlatform,
    reason: &'static str,
    message: &str,
    needs_human: bool,
    now: Time,
) -> TodoPlatformStatus {
    use types as t;
    let mut status = platform.status.clone().unwrap_or_default();
    let head = if needs_human {
        [
            waiting(t::READY, reason, message),
            waiting(t::RECONCILING, reason, message),
            ok(t::STALLED, reason, message),
        ]
    } else {
        [
            waiting(t::READY, reason, message),
            ok(t::RECONCILING, reason, message),
            waiting(t::STALLED, reasons::NOT_STALLED, "nothing needs a human"),
        ]
    };
    let head = conditions(platform, head, &now);
    status
        .conditions
        .retain(|c| !head.iter().any(|h| h.type_ == c.type_) && c.type_ != t::PAUSED);
    status.conditions.splice(0..0, head);
    status.observed_generation = platform.metadata.generation;
    status
}

/// Reconciliation is paused: Paused=True and Reconciling=False say so; everything else stays
/// as the last reconcile left it, including observedGeneration (what it describes).
pub fn paused(platform: &TodoPlatform, now: Time) -> TodoPlatformStatus {
    use types as t;
    let mut status = platform.status.clone().unwrap_or_default();
    let message = format!(
        "reconciliation is paused by the {} annotation; children are left as they are",
        crate::names::PAUSED_ANNOTATION
    );
    let head = conditions(
        platform,
        [
            ok(t::PAUSED, reasons::PAUSED_BY_ANNOTATION, message.clone()),
            waiting(t::RECONCILING, reasons::PAUSED_BY_ANNOTATION, message),
        ],
        &now,
    );
    for condition in head {
        match status
            .conditions
            .iter_mut()
            .find(|c| c.type_ == condition.type_)
        {
            Some(existing) => *existing = condition,
            None => status.conditions.push(condition),
        }
    }
    status
}

/// True when the Ready condition is True.
pub fn is_ready(status: &TodoPlatformStatus) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == types::READY && c.status == "True")
}
