//! The todo-operator binary: `run` (the controller), `crd` (print the CRD), `render` (print the
//! objects for a TodoPlatform manifest, offline).

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use todo_operator::controller::{self, Context};
use todo_operator::lease::{self, LeaseConfig};
use todo_operator::metrics::Metrics;
use todo_operator::topics::KafkaAdmin;

#[derive(Parser)]
#[command(
    name = "todo-operator",
    version,
    about = "Kubernetes operator for TodoPlatform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller (in the cluster, or against the current kubeconfig).
    Run(RunArgs),
    /// Print the TodoPlatform CustomResourceDefinition (YAML).
    Crd,
    /// Print every object the operator would create for a TodoPlatform manifest.
    Render {
        /// TodoPlatform manifest; `-` reads standard input.
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "OPERATOR_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    http_addr: SocketAddr,
    /// Reconcile at most this many TodoPlatforms at once.
    #[arg(long, env = "OPERATOR_CONCURRENCY", default_value_t = 4)]
    concurrency: u16,
    /// Elect a leader through a Lease so several replicas are safe.
    #[arg(long, env = "OPERATOR_LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    leader_election: bool,
    /// Namespace of the leader Lease (the operator's own; the chart sets it).
    #[arg(long, env = "POD_NAMESPACE", default_value = "todo-operator")]
    lease_namespace: String,
    /// This replica's identity in the Lease (the chart sets the pod name).
    #[arg(long, env = "POD_NAME", default_value = "todo-operator")]
    identity: String,
    /// Manage only the TodoPlatforms of this namespace (the chart's namespace-scoped install);
    /// every namespace when unset.
    #[arg(long, env = "WATCH_NAMESPACE")]
    watch_namespace: Option<String>,
    /// Log format: json or text.
    #[arg(long, env = "OPERATOR_LOG_FORMAT", default_value = "json")]
    log_format: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("tokio runtime starts");
            runtime.block_on(run(args))
        }
        Command::Crd => {
            print!("{}", todo_operator::render::crd_yaml());
            ExitCode::SUCCESS
        }
        Command::Render { file } => render(&file),
    }
}

fn render(file: &PathBuf) -> ExitCode {
    let manifest = if file.as_os_str() == "-" {
        let mut input = String::new();
        std::io::stdin().read_to_string(&mut input).map(|_| input)
    } else {
        std::fs::read_to_string(file)
    };
    let rendered = manifest
        .map_err(|e| format!("cannot read {}: {e}", file.display()))
        .and_then(|m| todo_operator::render::render(&m).map_err(|e| e.to_string()));
    match rendered {
        Ok(yaml) => {
            print!("{yaml}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("todo-operator render: {error}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,kube=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        () = terminate => {}
    }
}

async fn run(args: RunArgs) -> ExitCode {
    init_tracing(&args.log_format);
    let metrics = Arc::new(Metrics::default());
    let listener = match tokio::net::TcpListener::bind(args.http_addr).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, addr = %args.http_addr, "cannot bind the HTTP port");
            return ExitCode::FAILURE;
        }
    };
    let server = axum::serve(listener, todo_operator::http::router(metrics.clone()))
        .with_graceful_shutdown(shutdown_signal());
    let server = tokio::spawn(async move {
        if let Err(error) = server.await {
            tracing::error!(%error, "HTTP server failed");
        }
    });
    let client = match kube::Client::try_default().await {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "no Kubernetes configuration found");
            return ExitCode::FAILURE;
        }
    };
    let lease_config = LeaseConfig {
        name: "todo-operator-leader".into(),
        namespace: args.lease_namespace,
        identity: args.identity.clone(),
        lease_duration: Duration::from_secs(15),
        retry_period: Duration::from_secs(5),
    };
    if args.leader_election {
        tokio::select! {
            () = lease::acquire(&client, &lease_config) => {}
            () = shutdown_signal() => return ExitCode::SUCCESS,
        }
    }
    let ctx = Arc::new(Context::new(
        client.clone(),
        Arc::new(KafkaAdmin::default()),
        metrics,
        Some(args.identity),
    ));
    let watch_namespace = args.watch_namespace.filter(|n| !n.is_empty());
    let controller = controller::run(
        ctx,
        args.concurrency,
        watch_namespace.as_deref(),
        shutdown_signal(),
    );
    let outcome = if args.leader_election {
        tokio::select! {
            () = controller => ExitCode::SUCCESS,
            () = lease::hold(&client, &lease_config) => {
                tracing::error!("leadership lost; exiting so a fresh replica can stand by");
                ExitCode::FAILURE
            }
        }
    } else {
        controller.await;
        ExitCode::SUCCESS
    };
    if args.leader_election {
        lease::release(&client, &lease_config).await;
    }
    server.abort();
    outcome
}
