//! Dev mode: every role in the API's process, subscribed to the in-process bus.

use crate::api_client::ApiClient;
use crate::config::{EventConfig, NotifyConfig};
use crate::roles::{Role, audit, notifier::Notifier, recurrence, reminders};
use std::time::Duration;
use todo_core::Store;
use todo_core::events::topic;
use todo_core::store::Pool;
use todo_core::store::dialect::{Dialect, query};
use todo_events::bus::{InProcessBus, Outcome, handler};
use todo_events::trace::consumer_span;
use tokio::sync::watch;
use tracing::Instrument;

/// Subscribe recurrence, audit and notifier to the bus, record dead letters, and start the reminder timer
/// and the notifier's retries.
pub async fn start(
    store: Store,
    bus: InProcessBus,
    _events: EventConfig,
    notify: NotifyConfig,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let api = ApiClient::Direct(store.clone());
    {
        let api = api.clone();
        bus.subscribe(
            topic::TASK_EVENTS,
            "recurrence",
            handler(move |e| {
                let api = api.clone();
                async move {
                    let span = consumer_span(Role::Recurrence.name(), topic::TASK_EVENTS, &e, None);
                    let outcome = recurrence::handle(&api, &e).instrument(span).await;
                    crate::metrics::handled(Role::Recurrence.name(), &e, &outcome);
                    outcome
                }
            }),
        );
    }
    {
        let store = store.clone();
        bus.subscribe(
            topic::TASK_EVENTS,
            "audit",
            handler(move |e| {
                let store = store.clone();
                async move {
                    let span = consumer_span(Role::Audit.name(), topic::TASK_EVENTS, &e, None);
                    let outcome = audit::handle(&store, &e).instrument(span).await;
                    crate::metrics::handled(Role::Audit.name(), &e, &outcome);
                    outcome
                }
            }),
        );
    }
    let notifier = Notifier::new(store.clone(), &notify)?;
    tokio::spawn(notifier.clone().run_retries(stop.clone()));
    bus.subscribe(
        topic::REMINDERS,
        "notifier",
        handler(move |e| {
            let n = notifier.clone();
            async move {
                let span = consumer_span(Role::Notifier.name(), topic::REMINDERS, &e, None);
                let outcome = n.handle(&e).instrument(span).await;
                crate::metrics::handled(Role::Notifier.name(), &e, &outcome);
                outcome
            }
        }),
    );
    for base in topic::ALL {
        let store = store.clone();
        bus.subscribe(
            &topic::dead_letter(base),
            "dead-letters",
            handler(move |e| {
                let store = store.clone();
                async move { record_dead_letter(&store, base, &e).await }
            }),
        );
    }
    tokio::spawn(reminders::run_timer(api, Duration::from_secs(1), stop));
    crate::metrics::init(Role::ALL);
    Ok(())
}

async fn record_dead_letter(
    store: &Store,
    base: &str,
    event: &todo_core::events::CloudEvent,
) -> Outcome {
    let payload = serde_json::to_string(event).unwrap_or_default();
    let result = match store.pool() {
        Pool::Postgres(p) => insert_dead_letter(p, base, event, &payload).await,
        Pool::Sqlite(p) => insert_dead_letter(p, base, event, &payload).await,
    };
    match result {
        Ok(_) => Outcome::Success,
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

async fn insert_dead_letter<D: Dialect>(
    pool: &sqlx::Pool<D>,
    base: &str,
    event: &todo_core::events::CloudEvent,
    payload: &str,
) -> Result<u64, sqlx::Error> {
    query("INSERT INTO worker_dead_letters (topic, event_id, payload, at) VALUES ($1, $2, $3, $4)")
        .bind(topic::dead_letter(base))
        .bind(event.id)
        .bind(payload)
        .bind(jiff::Timestamp::now().as_millisecond())
        .execute(&mut pool.acquire().await?)
        .await
}
