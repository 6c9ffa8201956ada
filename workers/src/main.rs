#![forbid(unsafe_code)]

use anyhow::Context;
use clap::Parser;
use std::collections::HashSet;
use std::sync::Arc;
use todo_core::Store;
use todo_events::dapr::DaprClient;
use todo_worker::api_client::ApiClient;
use todo_worker::config::{Cli, Command, WorkerConfig};
use todo_worker::http::{WorkerState, router};
use todo_worker::process::{init_tracing, shutdown_signal};
use todo_worker::roles::Role;
use todo_worker::roles::notifier::Notifier;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let telemetry = init_tracing(&cli.config.log_format, "todo-worker");
    let result = match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(cli.config).await,
        Command::Migrate => migrate(&cli.config).await,
    };
    telemetry.shutdown();
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
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
            &todo_worker::metrics::SECONDS_BUCKETS,
        )
        .context("histogram buckets")?
        .install_recorder()
        .context("metrics recorder")?;
    todo_worker::metrics::init(roles.iter().copied());
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
