//! Process wiring: connect, migrate, start the relay and (dev mode) the worker roles, serve, shut down
//! gracefully on SIGTERM / Ctrl-C.

use crate::auth::TokenKeys;
use crate::config::Config;
use crate::live::LiveHub;
use crate::state::AppState;
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use todo_core::Store;
use todo_core::events::topic;
use todo_events::bus::{InProcessBus, Outcome, handler};
use todo_events::dapr::DaprClient;
use todo_events::publish::Publisher;
use todo_events::relay::{self, RelaySettings};
use tokio::sync::watch;

pub const EVENT_SOURCE: &str = "/todoplatform/todo-api";

pub async fn connect(cfg: &Config) -> anyhow::Result<Store> {
    Store::connect(&cfg.database_url, cfg.db_max_connections, EVENT_SOURCE)
        .await
        .with_context(|| format!("cannot open database {}", redact(&cfg.database_url)))
}

/// Hide the password of a database URL in messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub fn token_keys(cfg: &Config) -> TokenKeys {
    let secret = match &cfg.jwt_secret {
        Some(s) if !s.is_empty() => s.as_bytes().to_vec(),
        _ => {
            tracing::warn!(
                "TODO_JWT_SECRET is not set: using a random key; tokens stop working when this process exits"
            );
            rand::random::<[u8; 32]>().to_vec()
        }
    };
    TokenKeys::new(&secret, cfg.token_ttl_minutes)
}

/// Build state, start background tasks, and serve until shutdown.
pub async fn serve(mut cfg: Config) -> anyhow::Result<()> {
    // Dev mode sends test webhooks and reminders to receivers on this machine; a platform with a Dapr
    // sidecar refuses private addresses unless its operator allows them (see `webhook`).
    let dev_mode = cfg.embedded_workers();
    let allow_private = *cfg.notify.webhook_allow_private.get_or_insert(dev_mode);
    if allow_private {
        tracing::info!(
            "personal webhooks may reach private addresses (TODO_WEBHOOK_ALLOW_PRIVATE)"
        );
    }
    let store = connect(&cfg).await?;
    if cfg.migrate {
        store.migrate().await.context("migrations failed")?;
        todo_worker::storage::migrate(&store)
            .await
            .context("worker migrations failed")?;
    }
    // The recorder first: the relay and the embedded roles create their series at zero on start.
    let metrics = crate::metrics::handle();
    let live = LiveHub::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let embedded = cfg.embedded_workers();
    let publisher = match cfg.events.dapr_http_port {
        Some(port) if !embedded => Publisher::Dapr {
            client: DaprClient::new(port, cfg.events.dapr_api_token.clone()),
            pubsub: cfg.events.pubsub_name.clone(),
            topic_prefix: cfg.events.topic_prefix.clone(),
        },
        _ => {
            let bus =
                InProcessBus::new(cfg.events.max_delivery_attempts, Duration::from_millis(200));
            let hub = live.clone();
            bus.subscribe(
                topic::TASK_UPDATES,
                "live",
                handler(move |event| {
                    let hub = hub.clone();
                    async move {
                        crate::live::forward(&hub, &event, None);
                        Outcome::Success
                    }
                }),
            );
            todo_worker::embedded::start(
                store.clone(),
                bus.clone(),
                cfg.events.clone(),
                cfg.notify.clone(),
                stop_rx.clone(),
            )
            .await?;
            tracing::info!("dev mode: worker roles run in-process over the in-process bus");
            Publisher::InProcess(bus)
        }
    };
    let relay_task = tokio::spawn(relay::run(
        store.clone(),
        publisher,
        RelaySettings::default(),
        stop_rx.clone(),
    ));
    let state_live = live.clone();
    let state = AppState {
        store: store.clone(),
        tokens: Arc::new(token_keys(&cfg)),
        config: Arc::new(cfg.clone()),
        metrics,
        live,
    };
    let app = crate::app::build(state);
    let listener = tokio::net::TcpListener::bind(cfg.http_addr)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.http_addr))?;
    tracing::info!(addr = %cfg.http_addr, "todo-api listening; open http://{}/ for the UI", cfg.http_addr);
    let hub = state_live;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        todo_worker::process::shutdown_signal().await;
        // Open event streams would otherwise hold graceful shutdown until Kubernetes kills the pod.
        hub.close();
    })
    .await?;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), relay_task).await;
    store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Passwords never reach logs.
    #[test]
    fn redacts_database_passwords() {
        assert_eq!(
            super::redact("postgres://app:s3cret@db:5432/todo"),
            "postgres://app:***@db:5432/todo"
        );
        assert_eq!(super::redact("sqlite://todo.db"), "sqlite://todo.db");
    }
}
