//! Configuration: every setting is a flag and an environment variable (the README's configuration table
//! lists them; the operator sets the same names).

use crate::limit::TrustedProxies;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use todo_contract::{env, port};

#[derive(Debug, Parser)]
#[command(
    name = "todo-api",
    version,
    about = "TodoPlatform API server (and, in dev mode, every worker role)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document and exit.
    Openapi,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database: `postgres://…` or a SQLite file (`sqlite://todo.db`).
    #[arg(
        long,
        env = env::DATABASE_URL,
        default_value = "sqlite://todo.db",
        global = true
    )]
    pub database_url: String,
    /// Listen address; serves `/healthz`, `/readyz` and `/metrics` too.
    #[arg(
        long,
        env = env::HTTP_ADDR,
        default_value = port::API_DEFAULT_ADDR,
        global = true
    )]
    pub http_addr: SocketAddr,
    /// HMAC key of login sessions' tokens (JWTs; set it in production). When unset a random one is generated
    /// and sessions end with the process; personal access tokens are stored hashed and do not depend on it.
    #[arg(long, env = env::JWT_SECRET, hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    /// Login session lifetime in minutes (personal access tokens have their own expiry).
    #[arg(
        long,
        env = env::TOKEN_TTL_MINUTES,
        default_value_t = 1440,
        global = true
    )]
    pub token_ttl_minutes: i64,
    /// Run migrations when serving (`false` when a migration Job runs them).
    #[arg(long, env = env::MIGRATE, default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub migrate: bool,
    /// Log format: `text` or `json`.
    #[arg(long, env = env::LOG_FORMAT, default_value = "text", global = true)]
    pub log_format: String,
    /// Maximum database connections of this process (a few per database core: see BENCHMARKS.md).
    #[arg(
        long,
        env = env::DB_MAX_CONNECTIONS,
        default_value_t = 16,
        global = true
    )]
    pub db_max_connections: u32,
    /// Largest accepted request body in bytes (a larger one is answered 413).
    #[arg(
        long,
        env = env::MAX_BODY_BYTES,
        default_value_t = 1_048_576,
        global = true
    )]
    pub max_body_bytes: usize,
    /// Per-request timeout in seconds (streams excepted).
    #[arg(
        long,
        env = env::REQUEST_TIMEOUT_SECS,
        default_value_t = 30,
        global = true
    )]
    pub request_timeout_secs: u64,
    /// How often, in seconds, an open event stream checks its credential again: a revoked access token,
    /// an expired session or one ended by logging out everywhere (or a password change) stops receiving
    /// within this long.
    #[arg(
        long,
        env = env::STREAM_RECHECK_SECS,
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=3600),
        global = true
    )]
    pub stream_recheck_secs: u64,
    /// Comma-separated origins allowed by CORS (empty: same origin only).
    #[arg(long, env = env::CORS_ORIGINS, default_value = "", global = true)]
    pub cors_origins: String,
    /// Comma-separated addresses and CIDR ranges of the proxies in front of this server (ingress
    /// controller, load balancer): a request from one of them is counted against the address its
    /// `X-Forwarded-For` names, for the per-address login limit (empty: the connection's address).
    #[arg(long, env = env::TRUSTED_PROXIES, default_value = "", global = true)]
    pub trusted_proxies: TrustedProxies,
    /// Run the worker roles in this process over the in-process bus (default: when no Dapr sidecar).
    #[arg(long, env = env::EMBEDDED_WORKERS, action = clap::ArgAction::Set, global = true)]
    pub embedded_workers: Option<bool>,
    #[command(flatten)]
    pub events: todo_worker::config::EventConfig,
    #[command(flatten)]
    pub notify: todo_worker::config::NotifyConfig,
}

impl Config {
    pub fn embedded_workers(&self) -> bool {
        self.embedded_workers
            .unwrap_or(self.events.dapr_http_port.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;
    use std::collections::BTreeSet;
    use todo_contract::env;

    /// The variables `todo-api`'s command line reads are exactly the contract's list for it, and so are
    /// those it cannot start without.
    #[test]
    fn clap_reads_exactly_the_contracts_env_names() {
        let (reads, required) = todo_worker::config::clap_env_names(&Cli::command());
        assert_eq!(
            reads,
            env::api().map(str::to_owned).collect::<BTreeSet<_>>()
        );
        assert_eq!(required, env::API_REQUIRED);
    }
}
