//! Names, labels and topic names derived from a TodoPlatform. Everything derives from the CR's
//! name (and namespace for topics), so two platforms can share a namespace or a Kafka cluster.

use std::collections::BTreeMap;

/// Group of the TodoPlatform CRD; also the prefix of the operator's own annotations.
pub const GROUP: &str = "todoplatform.dev";
/// `app.kubernetes.io/managed-by` value on every child.
pub const MANAGED_BY: &str = "todo-operator";
/// `app.kubernetes.io/part-of` value on every child.
pub const PART_OF: &str = "todoplatform";
/// Pod-template annotation carrying the hash of the rendered configuration.
pub const CONFIG_HASH_ANNOTATION: &str = "todoplatform.dev/config-hash";
/// Child annotation carrying the hash of the applied manifest; lets a reconcile skip unchanged
/// children without writing.
pub const APPLIED_HASH_ANNOTATION: &str = "todoplatform.dev/applied-hash";
/// Annotation on a TodoPlatform: `"true"` pauses reconciliation of its children (status is
/// still written, saying so), as Strimzi's and CloudNativePG's pause annotations do.
pub const PAUSED_ANNOTATION: &str = "todoplatform.dev/paused";
/// Label selecting every child of one platform (`app.kubernetes.io/instance`).
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// Label selecting a child's component.
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
/// Label marking children as ours; every watch and list filters on it.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";

/// HTTP port of todo-api.
pub const API_PORT: i32 = todo_contract::port::API as i32;
/// HTTP port of todo-worker.
pub const WORKER_PORT: i32 = todo_contract::port::WORKER as i32;
/// Port Dapr sidecars serve metrics on.
pub const DAPR_METRICS_PORT: i32 = 9090;
/// PostgreSQL port.
pub const POSTGRES_PORT: i32 = 5432;
/// Kafka API port of the managed Redpanda.
pub const KAFKA_PORT: i32 = 9092;

/// The four worker roles the todo-worker binary understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WorkerRole {
    /// Next occurrence of recurring tasks.
    Recurrence,
    /// Reminder scanning (cron binding).
    Reminders,
    /// E-mail and webhook delivery.
    Notifier,
    /// Audit log.
    Audit,
}

impl WorkerRole {
    /// All roles in a stable order.
    pub const ALL: [WorkerRole; 4] = [
        WorkerRole::Recurrence,
        WorkerRole::Reminders,
        WorkerRole::Notifier,
        WorkerRole::Audit,
    ];

    /// The `--role` / `TODO_WORKER_ROLES` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recurrence => todo_contract::role::RECURRENCE,
            Self::Reminders => todo_contract::role::REMINDERS,
            Self::Notifier => todo_contract::role::NOTIFIER,
            Self::Audit => todo_contract::role::AUDIT,
        }
    }
}

/// The three event streams; each also has a dead-letter topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Task lifecycle events from the API.
    TaskEvents,
    /// Due reminders from the reminders worker.
    Reminders,
    /// Task changes requested by workers, consumed by the API.
    TaskUpdates,
}

impl Stream {
    /// All streams in a stable order.
    pub const ALL: [Stream; 3] = [Stream::TaskEvents, Stream::Reminders, Stream::TaskUpdates];

    /// Topic name without the platform prefix.
    pub fn base(self) -> &'static str {
        match self {
            Self::TaskEvents => todo_contract::topic::TASK_EVENTS,
            Self::Reminders => todo_contract::topic::REMINDERS,
            Self::TaskUpdates => todo_contract::topic::TASK_UPDATES,
        }
    }
}

/// Names of one platform's children and external resources.
#[derive(Clone, Debug)]
pub struct Names {
    /// CR name.
    pub instance: String,
    /// CR namespace.
    pub namespace: String,
}

impl Names {
    /// Names for the CR `namespace/instance`.
    pub fn new(instance: &str, namespace: &str) -> Self {
        Self {
            instance: instance.to_owned(),
            namespace: namespace.to_owned(),
        }
    }

    fn child(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.instance)
    }

    /// todo-api Deployment, Service, ServiceAccount, and its Dapr app-id.
    pub fn api(&self) -> String {
        self.child("api")
    }

    /// Worker Deployment and Service of one role, and its Dapr app-id.
    pub fn worker(&self, role: WorkerRole) -> String {
        self.child(&format!("worker-{}", role.as_str()))
    }

    /// ServiceAccount shared by the worker roles.
    pub fn worker_service_account(&self) -> String {
        self.child("worker")
    }

    /// Every Dapr app-id of this platform (Component scopes).
    pub fn app_ids(&self, roles: &[WorkerRole]) -> Vec<String> {
        std::iter::once(self.api())
            .chain(roles.iter().map(|role| self.worker(*role)))
            .collect()
    }

    /// Dapr pub/sub Component.
    pub fn pubsub(&self) -> String {
        self.child("pubsub")
    }

    /// Dapr state store Component.
    pub fn statestore(&self) -> String {
        self.child("statestore")
    }

    /// Dapr cron binding Component; also the HTTP route the reminders worker receives.
    pub fn reminder_binding(&self) -> String {
        self.child("reminder-cron")
    }

    /// Dapr secret store Component.
    pub fn secretstore(&self) -> String {
        self.child("secretstore")
    }

    /// Dapr Configuration.
    pub fn dapr_config(&self) -> String {
        self.child("dapr-config")
    }

    /// Dapr Resiliency.
    pub fn resiliency(&self) -> String {
        self.child("resiliency")
    }

    /// Non-secret application settings.
    pub fn config_map(&self) -> String {
        self.child("config")
    }

    /// Generated JWT signing secret.
    pub fn jwt_secret(&self) -> String {
        self.child("jwt")
    }

    /// Generated Dapr app API token (`dapr.io/app-token-secret`).
    pub fn app_token_secret(&self) -> String {
        self.child("app-token")
    }

    /// Managed PostgreSQL StatefulSet, Service and credentials Secret.
    pub fn postgres(&self) -> String {
        self.child("postgres")
    }

    /// Managed Redpanda StatefulSet and Service.
    pub fn redpanda(&self) -> String {
        self.child("redpanda")
    }

    /// Role letting the apps' Dapr sidecars read the platform's Secrets.
    pub fn secret_reader(&self) -> String {
        self.child("secret-reader")
    }

    /// Migration Job for one release; a new release gets a new Job because a Job's pod
    /// template is immutable.
    pub fn migration_job(&self, release_hash: &str) -> String {
        self.child(&format!("migrate-{release_hash}"))
    }

    /// Topic prefix `<namespace>.<name>.`: keeps platforms apart on a shared Kafka cluster even
    /// when they have the same name in different namespaces. A namespace is a DNS label (no
    /// dots), so the first dot always ends it and two prefixes can never collide.
    pub fn topic_prefix(&self) -> String {
        format!("{}.{}.", self.namespace, self.instance)
    }

    /// Full name of a stream's topic.
    pub fn topic(&self, stream: Stream) -> String {
        format!("{}{}", self.topic_prefix(), stream.base())
    }

    /// Full name of a stream's dead-letter topic.
    pub fn dead_letter_topic(&self, stream: Stream) -> String {
        format!(
            "{}{}",
            self.topic_prefix(),
            todo_contract::topic::dead_letter(stream.base())
        )
    }

    /// Kubernetes-safe name of the Redpanda `Topic` resource for a Kafka topic.
    pub fn topic_resource(&self, stream: Stream, dead_letter: bool) -> String {
        let suffix = if dead_letter {
            todo_contract::topic::DEAD_LETTER_SUFFIX
        } else {
            ""
        };
        self.child(&format!("{}{suffix}", stream.base()))
    }

    /// Labels every child carries.
    pub fn labels(&self, component: &str) -> BTreeMap<String, String> {
        let mut labels = self.selector_labels(component);
        labels.insert("app.kubernetes.io/name".into(), "todoplatform".into());
        labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
        labels.insert("app.kubernetes.io/part-of".into(), PART_OF.into());
        labels
    }

    /// The subset of labels used in selectors (stable across releases).
    pub fn selector_labels(&self, component: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (INSTANCE_LABEL.to_owned(), self.instance.clone()),
            (COMPONENT_LABEL.to_owned(), component.to_owned()),
        ])
    }

    /// Label selector matching all of this platform's children.
    pub fn children_selector(&self) -> String {
        format!(
            "{INSTANCE_LABEL}={},{MANAGED_BY_LABEL}={MANAGED_BY}",
            self.instance
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two platforms with the same name in different namespaces must never share a topic.
    #[test]
    fn topic_names_are_unique_per_namespace() {
        let a = Names::new("todo", "team-a");
        let b = Names::new("todo", "team-b");
        assert_eq!(a.topic(Stream::TaskEvents), "team-a.todo.task-events");
        assert_eq!(
            a.dead_letter_topic(Stream::Reminders),
            "team-a.todo.reminders-dlq"
        );
        assert_ne!(a.topic(Stream::TaskEvents), b.topic(Stream::TaskEvents));
    }

    /// App-ids derive from the CR name, so Component scopes of two platforms never overlap.
    #[test]
    fn app_ids_derive_from_the_cr_name() {
        let names = Names::new("shop", "ns");
        assert_eq!(
            names.app_ids(&WorkerRole::ALL),
            [
                "shop-api",
                "shop-worker-recurrence",
                "shop-worker-reminders",
                "shop-worker-notifier",
                "shop-worker-audit"
            ]
        );
    }
}
