//! reminders: find due reminders and turn them into `reminder.due` events. The API owns reminders, so this
//! role asks it to fire them (atomically — two replicas never fire the same one). In Kubernetes the Dapr
//! cron binding drives it (`POST /<binding>`); in dev mode a one-second timer does.

use crate::api_client::ApiClient;
use std::time::Duration;
use todo_events::bus::Outcome;
use tokio::sync::watch;

pub async fn tick(api: &ApiClient) -> Outcome {
    match api.fire_reminders().await {
        Ok(n) => {
            if n > 0 {
                tracing::info!(fired = n, "reminders fired");
                metrics::counter!("reminders_fired_total").increment(n as u64);
            }
            Outcome::Success
        }
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// Dev-mode driver: scan every `interval` until shutdown.
pub async fn run_timer(api: ApiClient, interval: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        if let Outcome::Retry(e) = tick(&api).await {
            tracing::warn!(error = %e, "reminder scan failed; retrying next tick");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}
