//! Event and notification settings, shared by `todo-worker` and `todo-api` (which embeds the worker roles
//! in dev mode). Each is a flag and an environment variable.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct EventConfig {
    /// The Dapr sidecar's HTTP port (set by Dapr). When set, events go through Dapr; otherwise in-process.
    #[arg(long, env = "DAPR_HTTP_PORT", global = true)]
    pub dapr_http_port: Option<u16>,
    /// Token for calls to the Dapr sidecar, when Dapr API token auth is on (set by Dapr).
    #[arg(long, env = "DAPR_API_TOKEN", hide_env_values = true, global = true)]
    pub dapr_api_token: Option<String>,
    /// Name of the Dapr pub/sub component.
    #[arg(
        long,
        env = "TODO_PUBSUB_NAME",
        default_value = "pubsub",
        global = true
    )]
    pub pubsub_name: String,
    /// Prefix of every topic name (keeps platforms sharing a Kafka cluster apart).
    #[arg(long, env = "TODO_TOPIC_PREFIX", default_value = "", global = true)]
    pub topic_prefix: String,
    /// Dapr app-id of the API, for service invocation from workers.
    #[arg(
        long,
        env = "TODO_API_APP_ID",
        default_value = "todo-api",
        global = true
    )]
    pub api_app_id: String,
    /// Name of the Dapr cron binding that drives reminder scans (`POST /<name>`).
    #[arg(
        long,
        env = "TODO_REMINDER_BINDING",
        default_value = "reminder-cron",
        global = true
    )]
    pub reminder_binding: String,
    /// Delivery attempts before an event goes to the dead-letter topic (in-process bus; Dapr uses its Resiliency policy).
    #[arg(
        long,
        env = "TODO_MAX_DELIVERY_ATTEMPTS",
        default_value_t = 5,
        global = true
    )]
    pub max_delivery_attempts: u32,
}

#[derive(Debug, Clone, Args)]
pub struct NotifyConfig {
    /// SMTP server for reminder emails, e.g. `smtp://user:pass@mail:587?tls=required` or `smtps://…:465`.
    /// Unset: reminders are logged instead of mailed.
    #[arg(long, env = "TODO_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,
    /// Sender of reminder emails.
    #[arg(
        long,
        env = "TODO_SMTP_FROM",
        default_value = "TodoPlatform <reminders@todoplatform.local>",
        global = true
    )]
    pub smtp_from: String,
    /// Where reminder webhooks are POSTed (unset: no webhooks).
    #[arg(long, env = "TODO_WEBHOOK_URL", global = true)]
    pub webhook_url: Option<String>,
    /// Key for the webhook's `X-Todo-Signature` HMAC-SHA256 header.
    #[arg(
        long,
        env = "TODO_WEBHOOK_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub webhook_secret: Option<String>,
    /// Public URL of the web UI, for links in emails.
    #[arg(
        long,
        env = "TODO_PUBLIC_URL",
        default_value = "http://localhost:8080",
        global = true
    )]
    pub public_url: String,
}
