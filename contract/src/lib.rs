//! One definition per contract between `todo-operator` and the binaries (`todo-api`, `todo-worker`),
//! and between the binaries themselves. Each item says who sets it and who reads it. Both sides
//! import it; tests on both sides check that they use exactly these names (the binaries' clap
//! arguments against [`env::API`] / [`env::WORKER`], the operator's containers against the same
//! lists and its Subscriptions against [`route`]).

/// Environment variables. Every `TODO_*`, `DATABASE_URL` and `DAPR_*` variable is read by clap (a flag
/// and a variable each); `APP_API_TOKEN` and `RUST_LOG` are read outside clap (see [`API_EXTRA`],
/// [`WORKER_EXTRA`]). The operator sets them on the app containers, directly or through the
/// platform's ConfigMap, which every app container (API, each worker role, migration Job) reads.
pub mod env {
    /// Database URL (`postgres://…` or a SQLite file). Set by the operator (from a Secret) on the API,
    /// the workers and the migration Job; read by `todo-api` and `todo-worker`.
    pub const DATABASE_URL: &str = "DATABASE_URL";
    /// Listen address. Set by the operator (`0.0.0.0:` + [`crate::port::API`] or
    /// [`crate::port::WORKER`]); read by `todo-api` and `todo-worker`.
    pub const HTTP_ADDR: &str = "TODO_HTTP_ADDR";
    /// HMAC key of the login sessions (JWTs; personal access tokens are stored hashed instead). Set by
    /// the operator (from a Secret) on the API; read by `todo-api`.
    pub const JWT_SECRET: &str = "TODO_JWT_SECRET";
    /// Access-token lifetime in minutes. Read by `todo-api`; the operator leaves the default.
    pub const TOKEN_TTL_MINUTES: &str = "TODO_TOKEN_TTL_MINUTES";
    /// Whether `todo-api serve` migrates first. Set to `false` by the operator (its migration Job
    /// migrates); read by `todo-api`.
    pub const MIGRATE: &str = "TODO_MIGRATE";
    /// `text` or `json`. Set by the operator (ConfigMap, `json`); read by `todo-api` and `todo-worker`.
    pub const LOG_FORMAT: &str = "TODO_LOG_FORMAT";
    /// Database pool size. Set by the operator (ConfigMap); read by `todo-api` and `todo-worker`.
    pub const DB_MAX_CONNECTIONS: &str = "TODO_DB_MAX_CONNECTIONS";
    /// Largest request body. Read by `todo-api`; the operator leaves the default.
    pub const MAX_BODY_BYTES: &str = "TODO_MAX_BODY_BYTES";
    /// Per-request timeout. Read by `todo-api`; the operator leaves the default.
    pub const REQUEST_TIMEOUT_SECS: &str = "TODO_REQUEST_TIMEOUT_SECS";
    /// How often an open event stream checks its credential again. Read by `todo-api`; the operator
    /// leaves the default.
    pub const STREAM_RECHECK_SECS: &str = "TODO_STREAM_RECHECK_SECS";
    /// CORS origins. Read by `todo-api`; the operator leaves the default.
    pub const CORS_ORIGINS: &str = "TODO_CORS_ORIGINS";
    /// Comma-separated addresses and CIDR ranges of the proxies in front of the API (ingress
    /// controller, load balancer, mesh sidecar): from a peer in them, the client is read from
    /// `X-Forwarded-For`, for the per-address login limit. Set by the operator on the API from
    /// `spec.api.trustedProxies` (by default the cluster's private ranges); read by `todo-api`.
    pub const TRUSTED_PROXIES: &str = "TODO_TRUSTED_PROXIES";
    /// Run the worker roles inside `todo-api`. Set to `false` by the operator (each role is its own
    /// Deployment); read by `todo-api`.
    pub const EMBEDDED_WORKERS: &str = "TODO_EMBEDDED_WORKERS";
    /// Comma-separated [`crate::role`] names. Set by the operator (one role per Deployment); read by
    /// `todo-worker`.
    pub const WORKER_ROLES: &str = "TODO_WORKER_ROLES";
    /// The sidecar's HTTP port. Set by Dapr's injector; read by `todo-api` and `todo-worker`.
    pub const DAPR_HTTP_PORT: &str = "DAPR_HTTP_PORT";
    /// Token for calls to the sidecar. Set by Dapr's injector; read by `todo-api` and `todo-worker`.
    pub const DAPR_API_TOKEN: &str = "DAPR_API_TOKEN";
    /// Dapr's app token, presented by the sidecar in [`crate::header::APP_TOKEN`]. Set by the operator
    /// (from the Secret it generates) on the API; read by `todo-api` outside clap (its internal routes).
    pub const APP_API_TOKEN: &str = "APP_API_TOKEN";
    /// Dapr pub/sub component name. Set by the operator (ConfigMap); read by `todo-api` and `todo-worker`.
    pub const PUBSUB_NAME: &str = "TODO_PUBSUB_NAME";
    /// Prefix of every topic. Set by the operator (ConfigMap); read by `todo-api` and `todo-worker`.
    pub const TOPIC_PREFIX: &str = "TODO_TOPIC_PREFIX";
    /// The API's Dapr app-id. Set by the operator (ConfigMap); read by `todo-api` and `todo-worker`.
    pub const API_APP_ID: &str = "TODO_API_APP_ID";
    /// The reminder cron binding's name. Set by the operator (ConfigMap); read by `todo-api` and
    /// `todo-worker`.
    pub const REMINDER_BINDING: &str = "TODO_REMINDER_BINDING";
    /// In-process bus attempts before dead-lettering. Read by `todo-api` and `todo-worker`; the
    /// operator leaves the default (Dapr retries under its Resiliency policy).
    pub const MAX_DELIVERY_ATTEMPTS: &str = "TODO_MAX_DELIVERY_ATTEMPTS";
    /// SMTP server. Set by the operator (from a Secret) on the notifier; read by `todo-api` and
    /// `todo-worker`.
    pub const SMTP_URL: &str = "TODO_SMTP_URL";
    /// Sender of reminder emails. Set by the operator (ConfigMap); read by `todo-api` and `todo-worker`.
    pub const SMTP_FROM: &str = "TODO_SMTP_FROM";
    /// The platform's reminder webhook URL: it receives every user's reminders, for the platform's own
    /// automation (users add their own webhooks in their settings). Set by the operator on the notifier
    /// from `spec.notifications.webhook`; read by `todo-api` and `todo-worker`.
    pub const WEBHOOK_URL: &str = "TODO_WEBHOOK_URL";
    /// Reminder webhook signing key. Set by the operator (from a Secret) on the notifier; read by
    /// `todo-api` and `todo-worker`.
    pub const WEBHOOK_SECRET: &str = "TODO_WEBHOOK_SECRET";
    /// Whether users' personal webhooks may reach loopback, private and link-local addresses (default
    /// false; `todo-api` turns it on in dev mode). Read by `todo-api` (test sends) and `todo-worker`
    /// (the notifier); the operator sets it on both from `spec.notifications.allowPrivateWebhooks`.
    pub const WEBHOOK_ALLOW_PRIVATE: &str = "TODO_WEBHOOK_ALLOW_PRIVATE";
    /// Notifier retry: first wait. Set by the operator on the notifier from
    /// `spec.notifications.retry.initialInterval`; read by `todo-api` and `todo-worker`.
    pub const NOTIFY_RETRY_INITIAL: &str = "TODO_NOTIFY_RETRY_INITIAL";
    /// Notifier retry: longest wait. Set by the operator on the notifier from
    /// `spec.notifications.retry.maxInterval`; read by `todo-api` and `todo-worker`.
    pub const NOTIFY_RETRY_MAX_INTERVAL: &str = "TODO_NOTIFY_RETRY_MAX_INTERVAL";
    /// Notifier retry: how long. Set by the operator on the notifier from
    /// `spec.notifications.retry.giveUpAfter`; read by `todo-api` and `todo-worker`.
    pub const NOTIFY_RETRY_FOR: &str = "TODO_NOTIFY_RETRY_FOR";
    /// Public URL of the UI, for links in emails. Set by the operator (ConfigMap); read by `todo-api`
    /// and `todo-worker`.
    pub const PUBLIC_URL: &str = "TODO_PUBLIC_URL";
    /// Log filter. Set by the operator (ConfigMap); read by `tracing`'s env filter in both binaries,
    /// outside clap.
    pub const RUST_LOG: &str = "RUST_LOG";
    /// OTLP collector URL (`http://collector:4318`); traces are exported only when it is set. Set by the
    /// operator from `spec.dapr.tracing`; read outside clap by both binaries, as OpenTelemetry specifies
    /// it, like the rest of [`TRACING`].
    pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    /// `http/protobuf` (default) or `grpc`. Set by the operator from `spec.dapr.tracing.protocol`.
    pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
    /// `key=value,…` headers sent to the collector (e.g. its API key). The operator leaves it unset.
    pub const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
    /// The `service.name` of exported spans. Set by the operator (the Deployment's Dapr app-id).
    pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
    /// Further resource attributes (`key=value,…`). The operator leaves it unset.
    pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
    /// Sampler, e.g. `parentbased_traceidratio`. Set by the operator with [`OTEL_TRACES_SAMPLER_ARG`].
    pub const OTEL_TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
    /// The sampler's ratio. Set by the operator from `spec.dapr.tracing.samplingRate`, as Dapr's.
    pub const OTEL_TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";

    /// The event settings both binaries read (`todo_worker::config::EventConfig`).
    pub const EVENTS: [&str; 7] = [
        DAPR_HTTP_PORT,
        DAPR_API_TOKEN,
        PUBSUB_NAME,
        TOPIC_PREFIX,
        API_APP_ID,
        REMINDER_BINDING,
        MAX_DELIVERY_ATTEMPTS,
    ];
    /// The notification settings both binaries read (`todo_worker::config::NotifyConfig`).
    pub const NOTIFY: [&str; 9] = [
        SMTP_URL,
        SMTP_FROM,
        WEBHOOK_URL,
        WEBHOOK_SECRET,
        WEBHOOK_ALLOW_PRIVATE,
        NOTIFY_RETRY_INITIAL,
        NOTIFY_RETRY_MAX_INTERVAL,
        NOTIFY_RETRY_FOR,
        PUBLIC_URL,
    ];
    /// Every variable `todo-api`'s command line reads (its clap arguments' `env`), besides
    /// [`EVENTS`] and [`NOTIFY`].
    pub const API_OWN: [&str; 13] = [
        DATABASE_URL,
        HTTP_ADDR,
        JWT_SECRET,
        TOKEN_TTL_MINUTES,
        MIGRATE,
        LOG_FORMAT,
        DB_MAX_CONNECTIONS,
        MAX_BODY_BYTES,
        REQUEST_TIMEOUT_SECS,
        STREAM_RECHECK_SECS,
        CORS_ORIGINS,
        TRUSTED_PROXIES,
        EMBEDDED_WORKERS,
    ];
    /// Every variable `todo-worker`'s command line reads (its clap arguments' `env`), besides
    /// [`EVENTS`] and [`NOTIFY`].
    pub const WORKER_OWN: [&str; 5] = [
        DATABASE_URL,
        HTTP_ADDR,
        WORKER_ROLES,
        LOG_FORMAT,
        DB_MAX_CONNECTIONS,
    ];
    /// What `todo-api` cannot start without (no default): the operator must set each.
    pub const API_REQUIRED: [&str; 0] = [];
    /// What `todo-worker` cannot start without (no default): the operator must set each.
    pub const WORKER_REQUIRED: [&str; 0] = [];
    /// What `todo-api` reads outside its command line.
    pub const API_EXTRA: [&str; 2] = [APP_API_TOKEN, RUST_LOG];
    /// What `todo-worker` reads outside its command line.
    pub const WORKER_EXTRA: [&str; 1] = [RUST_LOG];
    /// OpenTelemetry's trace export settings, which both binaries read outside their command lines.
    pub const TRACING: [&str; 7] = [
        OTEL_EXPORTER_OTLP_ENDPOINT,
        OTEL_EXPORTER_OTLP_PROTOCOL,
        OTEL_EXPORTER_OTLP_HEADERS,
        OTEL_SERVICE_NAME,
        OTEL_RESOURCE_ATTRIBUTES,
        OTEL_TRACES_SAMPLER,
        OTEL_TRACES_SAMPLER_ARG,
    ];

    /// Every variable `todo-api`'s command line reads.
    pub fn api() -> impl Iterator<Item = &'static str> {
        API_OWN.into_iter().chain(EVENTS).chain(NOTIFY)
    }
    /// Every variable `todo-worker`'s command line reads.
    pub fn worker() -> impl Iterator<Item = &'static str> {
        WORKER_OWN.into_iter().chain(EVENTS).chain(NOTIFY)
    }
    /// Every variable `todo-api` reads, on its command line or not.
    pub fn api_all() -> impl Iterator<Item = &'static str> {
        api().chain(API_EXTRA).chain(TRACING)
    }
    /// Every variable `todo-worker` reads, on its command line or not.
    pub fn worker_all() -> impl Iterator<Item = &'static str> {
        worker().chain(WORKER_EXTRA).chain(TRACING)
    }
}

/// Ports the binaries listen on in a cluster (the operator sets [`env::HTTP_ADDR`] to `0.0.0.0:<port>`
/// and points Services, probes and Dapr's `app-port` at it); also the binaries' default ports.
pub mod port {
    /// `todo-api`.
    pub const API: u16 = 8080;
    /// `todo-worker`.
    pub const WORKER: u16 = 8081;
    /// `todo-api`'s default listen address (development).
    pub const API_DEFAULT_ADDR: &str = "127.0.0.1:8080";
    /// `todo-worker`'s default listen address (development).
    pub const WORKER_DEFAULT_ADDR: &str = "127.0.0.1:8081";
}

/// Base topic names; deployments prefix them ([`env::TOPIC_PREFIX`]) to keep platforms apart. The
/// operator creates `<prefix><base>` and its dead letter; `todo-api` publishes (outbox relay) to
/// [`topic::TASK_EVENTS`], [`topic::REMINDERS`], [`topic::TASK_UPDATES`]; the workers subscribe.
pub mod topic {
    /// Every task change (`todo.task.*`). Read by the recurrence and audit roles.
    pub const TASK_EVENTS: &str = "task-events";
    /// Due reminders (`todo.reminder.due.v1`). Read by the notifier role.
    pub const REMINDERS: &str = "reminders";
    /// Every task change again, and due reminders, for the API's live updates (SSE). Read by `todo-api`.
    pub const TASK_UPDATES: &str = "task-updates";
    pub const ALL: [&str; 3] = [TASK_EVENTS, REMINDERS, TASK_UPDATES];
    /// What a dead-letter topic's name adds to its topic's.
    pub const DEAD_LETTER_SUFFIX: &str = "-dlq";

    /// The dead-letter topic of `base`.
    pub fn dead_letter(base: &str) -> String {
        format!("{base}{DEAD_LETTER_SUFFIX}")
    }
}

/// CloudEvent `type`s, versioned. Written by `todo-core`'s store (into the outbox); read by the worker
/// roles and the API's live updates.
pub mod kind {
    pub const TASK_CREATED: &str = "todo.task.created.v1";
    pub const TASK_UPDATED: &str = "todo.task.updated.v1";
    pub const TASK_COMPLETED: &str = "todo.task.completed.v1";
    pub const TASK_REOPENED: &str = "todo.task.reopened.v1";
    pub const TASK_DELETED: &str = "todo.task.deleted.v1";
    pub const REMINDER_DUE: &str = "todo.reminder.due.v1";
    /// A fired reminder the user dismissed: its alert leaves the user's other open tabs (task-updates only).
    pub const REMINDER_DISMISSED: &str = "todo.reminder.dismissed.v1";
    /// A project was created, changed (renamed, recoloured, moved, archived, restored) or deleted: the
    /// user's open tabs reload their projects (task-updates only).
    pub const PROJECT_CHANGED: &str = "todo.project.changed.v1";
}

/// The CloudEvents envelope's fixed values (the envelope type itself is `todo_core::events::CloudEvent`).
pub mod cloud_event {
    pub const SPEC_VERSION: &str = "1.0";
    pub const DATA_CONTENT_TYPE: &str = "application/json";
}

/// Worker roles: the values of [`env::WORKER_ROLES`] (`todo-worker --role`). The operator runs one
/// Deployment per role and names it, its app-id and its Subscription after the role.
pub mod role {
    /// Creates a recurring task's next occurrence when one completes (subscribes to task-events).
    pub const RECURRENCE: &str = "recurrence";
    /// Fires due reminders (driven by the cron binding; subscribes to nothing).
    pub const REMINDERS: &str = "reminders";
    /// Mails and webhooks due reminders (subscribes to reminders).
    pub const NOTIFIER: &str = "notifier";
    /// Records every task change (subscribes to task-events).
    pub const AUDIT: &str = "audit";
    pub const ALL: [&str; 4] = [RECURRENCE, REMINDERS, NOTIFIER, AUDIT];
    /// [`ALL`] as the comma-separated value of [`crate::env::WORKER_ROLES`]: `todo-worker`'s default.
    /// Written out because a `const` cannot join an array; a test keeps the two equal.
    pub const ALL_LIST: &str = "recurrence,reminders,notifier,audit";
}

/// HTTP routes Dapr delivers events to. The operator names them in its Subscriptions; the binaries
/// route them.
pub mod route {
    /// `todo-worker` (recurrence, audit): deliveries of [`crate::topic::TASK_EVENTS`].
    pub const TASK_EVENTS: &str = "/events/task-events";
    /// `todo-worker` (notifier): deliveries of [`crate::topic::REMINDERS`].
    pub const REMINDERS: &str = "/events/reminders";
    /// `todo-api`: deliveries of [`crate::topic::TASK_UPDATES`].
    pub const TASK_UPDATES: &str = "/events/task-updates";
    /// What `todo-worker` routes.
    pub const WORKER: [&str; 2] = [TASK_EVENTS, REMINDERS];
    /// What `todo-api` routes.
    pub const API: [&str; 1] = [TASK_UPDATES];
}

/// `todo-api`'s internal routes: served by `todo-api`, called by `todo-worker` through Dapr service
/// invocation (`/v1.0/invoke/<api app-id>/method/<route without its leading slash>`).
pub mod internal {
    use serde::{Deserialize, Serialize};

    /// Body [`NextOccurrenceRequest`]; answers the occurrence (`todo_core::model::NextOccurrence`).
    pub const NEXT_OCCURRENCE: &str = "/internal/v1/next-occurrence";
    /// Body `{}`; answers [`FireRemindersResponse`].
    pub const FIRE_REMINDERS: &str = "/internal/v1/fire-reminders";

    /// The Dapr invocation method of an internal `route`.
    pub fn method(route: &str) -> &str {
        route.trim_start_matches('/')
    }

    /// Create the occurrence after a completed task. `Id` is the id type (a UUID).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct NextOccurrenceRequest<Id> {
        pub user_id: Id,
        pub task_id: Id,
    }

    /// How many reminders one `fire-reminders` call fired.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub struct FireRemindersResponse {
        pub fired: usize,
    }
}

/// HTTP headers between Dapr and the apps.
pub mod header {
    /// Dapr presents the app token ([`crate::env::APP_API_TOKEN`]) to the app in this header, and
    /// an app presents its sidecar token ([`crate::env::DAPR_API_TOKEN`]) to the sidecar in it.
    pub const APP_TOKEN: &str = "dapr-api-token";
    /// Dapr sets it on every service-invocation request it forwards to the app.
    pub const CALLER_APP_ID: &str = "dapr-caller-app-id";
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn all_roles_list_is_all_roles() {
        assert_eq!(role::ALL_LIST, role::ALL.join(","));
    }

    /// No name is listed twice for one binary.
    #[test]
    fn per_binary_lists_have_no_repeats() {
        for list in [
            env::api_all().collect::<Vec<_>>(),
            env::worker_all().collect(),
        ] {
            let set: BTreeSet<_> = list.iter().collect();
            assert_eq!(set.len(), list.len(), "{list:?}");
        }
    }

    #[test]
    fn internal_bodies_and_methods() {
        assert_eq!(
            internal::method(internal::NEXT_OCCURRENCE),
            "internal/v1/next-occurrence"
        );
        let body = serde_json::to_value(internal::NextOccurrenceRequest {
            user_id: 1,
            task_id: 2,
        })
        .unwrap();
        assert_eq!(body, serde_json::json!({ "user_id": 1, "task_id": 2 }));
        assert!(
            serde_json::from_value::<internal::NextOccurrenceRequest<u8>>(
                serde_json::json!({ "user_id": 1, "task_id": 2, "x": 3 })
            )
            .is_err()
        );
        assert_eq!(topic::dead_letter(topic::REMINDERS), "reminders-dlq");
    }
}
