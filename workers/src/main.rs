#![forbid(unsafe_code)]

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use todo_contract::{env, port, role};
use todo_core::Store;
use todo_events::dapr::DaprClient;
use todo_worker::api_client::ApiClient;
use todo_worker::config::{EventConfig, NotifyConfig};
use todo_worker::http::{WorkerState, router};
use todo_worker::process::{init_tracing, shutdown_signal};
use todo_worker::roles::Role;
use todo_worker::roles::notifier::Notifier;

#[derive(Parser)]
#[command(
    name = "todo-worker",
    version,
    about = "TodoPlatform worker roles: recurrence, reminders, notifier, audit"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: WorkerConfig,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the given roles (the default).
    Run,
    /// Apply the worker tables' migrations and exit.
    Migrate,
}

#[derive(Args)]
struct WorkerConfig {
    /// Database (the platform's; workers use their own tables in it).
    #[arg(
        long,
        env = env::DATABASE_URL,
        default_value = "sqlite://todo.db",
        global = true
    )]
    database_url: String,
    /// Listen address.
    #[arg(
        long,
        env = env::HTTP_ADDR,
        default_value = port::WORKER_DEFAULT_ADDR,
        global = true
    )]
    http_addr: SocketAddr,
    /// Comma-separated roles: recurrence, reminders, notifier, audit.
    #[arg(
        long = "role",
        env = env::WORKER_ROLES,
        default_value = role::ALL_LIST,
        global = true
    )]
    roles: String,
    #[arg(long, env = env::LOG_FORMAT, default_value = "text", global = true)]
    log_format: String,
    #[arg(
        long,
        env = env::DB_MAX_CONNECTIONS,
        default_value_t = 8,
        global = true
    )]
    db_max_connections: u32,
    #[command(flatten)]
    events: EventConfig,
    #[command(flatten)]
    notify: NotifyConfig,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.config.log_format);
    let result = match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(cli.config).await,
        Command::Migrate => migrate(&cli.config).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("todo-worker: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn connect(cfg: &WorkerConfig) -> anyhow::Result<Store> {
    Store::connect(
        &cfg.database_url,
        cfg.db_max_connections,
        "/todoplatform/todo-worker",
    )
    .await
    .context("cannot open database")
}

async fn migrate(cfg: &WorkerConfig) -> anyhow::Result<()> {
    todo_worker::storage::migrate(&connect(cfg).await?).await?;
    Ok(())
}

async fn run(cfg: WorkerConfig) -> anyhow::Result<()> {
    let roles: HashSet<Role> = cfg
        .roles
        .split(',')
        .filter(|r| !r.trim().is_empty())
        .map(str::parse)
        .collect::<Result<_, String>>()
        .map_err(anyhow::Error::msg)?;
    let store = connect(&cfg).await?;
    let port = cfg.events.dapr_http_port.context("DAPR_HTTP_PORT is not set: todo-worker runs beside a Dapr sidecar (use todo-api for dev mode)")?;
    let api = ApiClient::Dapr {
        client: DaprClient::new(port, cfg.events.dapr_api_token.clone()),
        app_id: cfg.events.api_app_id.clone(),
    };
    let notifier = if roles.contains(&Role::Notifier) {
        Some(Notifier::new(store.clone(), &cfg.notify)?)
    } else {
        None
    };
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("metrics recorder")?;
    let state = WorkerState {
        roles: Arc::new(roles.clone()),
        store,
        api,
        notifier,
        metrics,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let retries = state
        .notifier
        .clone()
        .map(|n| tokio::spawn(n.run_retries(stop_rx)));
    let app = router(state, &cfg.events.reminder_binding);
    let listener = tokio::net::TcpListener::bind(cfg.http_addr).await?;
    tracing::info!(addr = %cfg.http_addr, roles = ?roles, "todo-worker listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    let _ = stop_tx.send(true);
    if let Some(retries) = retries {
        // An attempt in progress finishes (SMTP and webhook time out within 15 s).
        let _ = tokio::time::timeout(std::time::Duration::from_secs(20), retries).await;
    }
    tracing::info!("todo-worker stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;
    use std::collections::BTreeSet;
    use todo_contract::env;

    /// The variables `todo-worker`'s command line reads are exactly the contract's list for it, and so are
    /// those it cannot start without.
    #[test]
    fn clap_reads_exactly_the_contracts_env_names() {
        let (reads, required) = todo_worker::config::clap_env_names(&Cli::command());
        assert_eq!(
            reads,
            env::worker().map(str::to_owned).collect::<BTreeSet<_>>()
        );
        assert_eq!(required, env::WORKER_REQUIRED);
    }

    /// The roles `--role` accepts are the contract's.
    #[test]
    fn roles_are_the_contracts() {
        let names: Vec<&str> = todo_worker::roles::Role::ALL
            .iter()
            .map(|r| r.name())
            .collect();
        assert_eq!(names, todo_contract::role::ALL);
    }
}
