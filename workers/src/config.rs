//! `todo-worker`'s command line, and the event and notification settings it shares with `todo-api` (which
//! embeds the worker roles in dev mode). Each setting is a flag and an environment variable.

use clap::{Args, Parser, Subcommand};
use jiff::SignedDuration;
use std::net::SocketAddr;
use todo_contract::{env, port, role};

/// `todo-worker`'s command line (here rather than in its `main` so the configuration reference can be
/// generated from it).
#[derive(Parser)]
#[command(
    name = "todo-worker",
    version,
    about = "TodoPlatform worker roles: recurrence, reminders, notifier, audit"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: WorkerConfig,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the given roles (the default).
    Run,
    /// Apply the worker tables' migrations and exit.
    Migrate,
}

#[derive(Args)]
pub struct WorkerConfig {
    /// Database (the platform's; workers use their own tables in it).
    #[arg(
        long,
        env = env::DATABASE_URL,
        default_value = "sqlite://todo.db",
        global = true
    )]
    pub database_url: String,
    /// Listen address: Dapr delivers events here; serves `/healthz`, `/readyz` and `/metrics` too.
    #[arg(
        long,
        env = env::HTTP_ADDR,
        default_value = port::WORKER_DEFAULT_ADDR,
        global = true
    )]
    pub http_addr: SocketAddr,
    /// Comma-separated roles: recurrence, reminders, notifier, audit.
    #[arg(
        long = "role",
        env = env::WORKER_ROLES,
        default_value = role::ALL_LIST,
        global = true
    )]
    pub roles: String,
    /// Log format: `text` or `json`.
    #[arg(long, env = env::LOG_FORMAT, default_value = "text", global = true)]
    pub log_format: String,
    /// Maximum database connections of this process (a few per database core: see BENCHMARKS.md).
    #[arg(
        long,
        env = env::DB_MAX_CONNECTIONS,
        default_value_t = 8,
        global = true
    )]
    pub db_max_connections: u32,
    #[command(flatten)]
    pub events: EventConfig,
    #[command(flatten)]
    pub notify: NotifyConfig,
}

#[derive(Debug, Clone, Args)]
pub struct EventConfig {
    /// The Dapr sidecar's HTTP port (set by Dapr). When set, events go through Dapr; otherwise in-process.
    #[arg(long, env = env::DAPR_HTTP_PORT, global = true)]
    pub dapr_http_port: Option<u16>,
    /// Token for calls to the Dapr sidecar, when Dapr API token auth is on (set by Dapr).
    #[arg(long, env = env::DAPR_API_TOKEN, hide_env_values = true, global = true)]
    pub dapr_api_token: Option<String>,
    /// Name of the Dapr pub/sub component.
    #[arg(
        long,
        env = env::PUBSUB_NAME,
        default_value = "pubsub",
        global = true
    )]
    pub pubsub_name: String,
    /// Prefix of every topic name (keeps platforms sharing a Kafka cluster apart).
    #[arg(long, env = env::TOPIC_PREFIX, default_value = "", global = true)]
    pub topic_prefix: String,
    /// Dapr app-id of the API, for service invocation from workers.
    #[arg(
        long,
        env = env::API_APP_ID,
        default_value = "todo-api",
        global = true
    )]
    pub api_app_id: String,
    /// Name of the Dapr cron binding that drives reminder scans (`POST /<name>`).
    #[arg(
        long,
        env = env::REMINDER_BINDING,
        default_value = "reminder-cron",
        global = true
    )]
    pub reminder_binding: String,
    /// Delivery attempts before an event goes to the dead-letter topic (in-process bus; Dapr uses its Resiliency policy).
    #[arg(
        long,
        env = env::MAX_DELIVERY_ATTEMPTS,
        default_value_t = 5,
        global = true
    )]
    pub max_delivery_attempts: u32,
}

#[derive(Debug, Clone, Args)]
pub struct NotifyConfig {
    /// SMTP server for reminder emails, e.g. `smtp://user:pass@mail:587?tls=required` or `smtps://…:465`.
    /// Unset: reminders are logged instead of mailed.
    #[arg(long, env = env::SMTP_URL, hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,
    /// Sender of reminder emails.
    #[arg(
        long,
        env = env::SMTP_FROM,
        default_value = "TodoPlatform <reminders@todoplatform.local>",
        global = true
    )]
    pub smtp_from: String,
    /// The platform's webhook: every user's reminders are POSTed here, for the platform's own automation
    /// (unset: none). Users add their own webhooks in their notification settings.
    #[arg(long, env = env::WEBHOOK_URL, global = true)]
    pub webhook_url: Option<String>,
    /// Key for the webhook's `X-Todo-Signature` HMAC-SHA256 header.
    #[arg(
        long,
        env = env::WEBHOOK_SECRET,
        hide_env_values = true,
        global = true
    )]
    pub webhook_secret: Option<String>,
    /// Whether users' personal webhooks may point at loopback, private or link-local addresses (checked
    /// on the address a host name resolves to, when sending). Off in production: a user-supplied URL
    /// must not reach into the platform's network (SSRF). Unset: on only in `todo-api`'s dev mode (the
    /// worker roles in-process, no Dapr sidecar), where a receiver on the same machine is the usual test.
    #[arg(long, env = env::WEBHOOK_ALLOW_PRIVATE, action = clap::ArgAction::Set, global = true)]
    pub webhook_allow_private: Option<bool>,
    /// Public URL of the web UI, for links in emails.
    #[arg(
        long,
        env = env::PUBLIC_URL,
        default_value = "http://localhost:8080",
        global = true
    )]
    pub public_url: String,
    #[command(flatten)]
    pub retry: RetryPolicy,
}

impl NotifyConfig {
    /// Whether personal webhooks may reach private addresses (`todo-worker`: only when set; `todo-api`
    /// sets it in dev mode before handing the configuration to its roles).
    pub fn allow_private_webhooks(&self) -> bool {
        self.webhook_allow_private.unwrap_or(false)
    }
}

/// How the notifier retries a notification it could not deliver (mail server or webhook down): it waits
/// `initial` after the first failure, then as long as it has been failing (so each wait doubles), at most
/// `max_interval`, and gives up `retry_for` after the first attempt (the delivery is then `failed` and
/// can be retried through the API). Durations as `30s`, `5m`, `1h`, `2h 30m`, `250ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct RetryPolicy {
    /// Wait after a notification's first failed attempt.
    #[arg(
        long = "notify-retry-initial",
        env = env::NOTIFY_RETRY_INITIAL,
        default_value = "30s",
        value_parser = parse_duration,
        global = true
    )]
    pub initial: SignedDuration,
    /// Longest wait between attempts.
    #[arg(
        long = "notify-retry-max-interval",
        env = env::NOTIFY_RETRY_MAX_INTERVAL,
        default_value = "1h",
        value_parser = parse_duration,
        global = true
    )]
    pub max_interval: SignedDuration,
    /// How long a notification is retried before it counts as failed.
    #[arg(
        long = "notify-retry-for",
        env = env::NOTIFY_RETRY_FOR,
        default_value = "24h",
        value_parser = parse_duration,
        global = true
    )]
    pub retry_for: SignedDuration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: SignedDuration::from_secs(30),
            max_interval: SignedDuration::from_hours(1),
            retry_for: SignedDuration::from_hours(24),
        }
    }
}

impl RetryPolicy {
    /// After an attempt failed at `now`, in a retry window that began at `from`: when to try next, or
    /// `None` to give up. The last attempt falls on the window's end.
    pub fn next_attempt(
        &self,
        from: jiff::Timestamp,
        now: jiff::Timestamp,
    ) -> Option<jiff::Timestamp> {
        let deadline = from.checked_add(self.retry_for).ok()?;
        if now >= deadline {
            return None;
        }
        let elapsed = now.duration_since(from).max(SignedDuration::ZERO);
        let wait = elapsed.clamp(self.initial, self.max_interval.max(self.initial));
        Some(
            now.checked_add(wait)
                .map_or(deadline, |next| next.min(deadline)),
        )
    }
}

/// The environment variables a command line reads (clap's `env` of every argument), and those it
/// cannot start without (required, no default): what the binaries' tests hold against `todo-contract`.
pub fn clap_env_names(
    command: &clap::Command,
) -> (std::collections::BTreeSet<String>, Vec<String>) {
    let name = |arg: &clap::Arg| arg.get_env().map(|n| n.to_string_lossy().into_owned());
    let reads = command.get_arguments().filter_map(name).collect();
    let required = command
        .get_arguments()
        .filter(|arg| arg.is_required_set() && arg.get_default_values().is_empty())
        .filter_map(name)
        .collect();
    (reads, required)
}

/// A positive duration: `30s`, `5m`, `1h 30m`, `250ms` (or ISO 8601, `PT30S`).
pub fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let d: SignedDuration = s
        .trim()
        .parse()
        .map_err(|e| format!("not a duration (e.g. 30s, 5m, 1h): {e}"))?;
    if d.is_positive() {
        Ok(d)
    } else {
        Err("must be longer than zero".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use jiff::Timestamp;
    use std::collections::BTreeSet;

    /// The variables `todo-worker`'s command line reads are exactly the contract's list for it, and so are
    /// those it cannot start without.
    #[test]
    fn clap_reads_exactly_the_contracts_env_names() {
        let (reads, required) = clap_env_names(&Cli::command());
        assert_eq!(
            reads,
            env::worker().map(str::to_owned).collect::<BTreeSet<_>>()
        );
        assert_eq!(required, env::WORKER_REQUIRED);
    }

    /// The roles `--role` accepts are the contract's.
    #[test]
    fn roles_are_the_contracts() {
        let names: Vec<&str> = crate::roles::Role::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names, role::ALL);
    }

    /// Waits double from `initial` up to `max_interval`; the last attempt is at the window's end, and an
    /// attempt failing there gives up.
    #[test]
    fn backoff_doubles_caps_and_gives_up() {
        let policy = RetryPolicy::default();
        let t0: Timestamp = "2026-03-10T12:00:00Z".parse().unwrap();
        let mut now = t0;
        let mut waits = Vec::new();
        while let Some(next) = policy.next_attempt(t0, now) {
            waits.push(next.duration_since(now).as_secs());
            now = next;
        }
        assert_eq!(&waits[..8], [30, 30, 60, 120, 240, 480, 960, 1920]);
        assert!(
            waits[8..waits.len() - 1].iter().all(|w| *w == 3600),
            "{waits:?}"
        );
        assert_eq!(
            now,
            t0 + SignedDuration::from_hours(24),
            "the last attempt is at the end"
        );
        assert!(
            waits.len() < 40,
            "about 30 attempts in a day: {}",
            waits.len()
        );
        // A 10-minute outage from the first attempt: the attempt at 16 min finds the server back.
        let attempts: Vec<i64> = waits
            .iter()
            .scan(0, |t, w| {
                *t += w;
                Some(*t)
            })
            .collect();
        assert_eq!(&attempts[..7], [30, 60, 120, 240, 480, 960, 1920]);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(SignedDuration::from_secs(30)));
        assert_eq!(parse_duration("1h"), Ok(SignedDuration::from_hours(1)));
        assert_eq!(parse_duration("2h 30m"), Ok(SignedDuration::from_mins(150)));
        assert_eq!(
            parse_duration("250ms"),
            Ok(SignedDuration::from_millis(250))
        );
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    /// What the operator passes from `spec.notifications.retry` (the CRD's pattern: whole ms, s, m or h,
    /// concatenated) parses here.
    #[test]
    fn durations_as_the_crd_writes_them() {
        for (text, millis) in [
            ("1h30m", 5_400_000),
            ("90s", 90_000),
            ("2h", 7_200_000),
            ("1m30s500ms", 90_500),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(SignedDuration::from_millis(millis)),
                "{text}"
            );
        }
    }
}
