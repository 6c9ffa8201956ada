#![forbid(unsafe_code)]

use clap::Parser;
use todo_api::config::{Cli, Command};
use todo_api::server;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let telemetry = todo_worker::process::init_tracing(&cli.config.log_format, "todo-api");
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::serve(cli.config).await,
        Command::Migrate => migrate(&cli.config).await,
        Command::Openapi => {
            print!("{}", todo_api::app::openapi_json());
            Ok(())
        }
    };
    telemetry.shutdown();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("todo-api: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn migrate(cfg: &todo_api::config::Config) -> anyhow::Result<()> {
    let store = server::connect(cfg).await?;
    store.migrate().await?;
    tracing::info!("migrations applied");
    Ok(())
}
