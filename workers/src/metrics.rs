//! Metrics of the worker roles, recorded the same way wherever they run (`todo-worker` behind Dapr,
//! `todo-api` in dev mode), so one dashboard and one set of alerts fit both.
//!
//! [`init`] creates every series a role can have at zero when it starts: a counter or histogram that
//! appears only with its first event makes dashboards show "no data" on a fresh install and makes
//! `rate()` miss that first event.

use crate::roles::Role;
use jiff::Timestamp;
use todo_core::events::CloudEvent;
use todo_core::model::{Channel, DeliveryStatus};
use todo_events::bus::Outcome;

/// Histogram buckets (seconds) of every `*_seconds` metric of both binaries: from a millisecond
/// (requests) to ten minutes (a late reminder), with 0.5 s for the API's latency objective.
pub const SECONDS_BUCKETS: [f64; 17] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 600.0,
];

const OUTCOMES: [&str; 3] = ["success", "retry", "drop"];

/// The consumer names of the roles that consume events (the reminders role is driven by its cron
/// binding instead), as the in-process bus and the metrics name them.
fn consumer(role: Role) -> Option<&'static str> {
    match role {
        Role::Recurrence | Role::Audit | Role::Notifier => Some(role.name()),
        Role::Reminders => None,
    }
}

/// Create the series of `roles` at zero.
pub fn init(roles: impl IntoIterator<Item = Role>) {
    for role in roles {
        if let Some(consumer) = consumer(role) {
            for outcome in OUTCOMES {
                metrics::counter!("events_handled_total", "consumer" => consumer, "outcome" => outcome)
                    .increment(0);
            }
            // Registering a histogram is enough for the exporter to render its empty buckets.
            let _ = metrics::histogram!("event_handling_delay_seconds", "consumer" => consumer);
        }
        match role {
            Role::Reminders => metrics::counter!("reminders_fired_total").increment(0),
            Role::Recurrence => {
                metrics::counter!("recurrence_occurrences_created_total").increment(0)
            }
            Role::Notifier => {
                let _ = metrics::histogram!("reminder_notify_delay_seconds");
                for channel in [Channel::Email, Channel::Webhook] {
                    for status in DeliveryStatus::ALL {
                        metrics::counter!("notifications_total", "channel" => channel.as_str(), "status" => status.as_str())
                            .increment(0);
                    }
                }
            }
            Role::Audit => {}
        }
    }
}

/// Count what `consumer` answered for `event`, and how long after the event happened it was handled
/// (Kafka's consumer-group lag is not visible to the app; this delay grows with it).
pub fn handled(consumer: &str, event: &CloudEvent, outcome: &Outcome) {
    let label = match outcome {
        Outcome::Success => "success",
        Outcome::Retry(_) => "retry",
        Outcome::Drop(_) => "drop",
    };
    metrics::counter!("events_handled_total", "consumer" => consumer.to_owned(), "outcome" => label)
        .increment(1);
    metrics::histogram!("event_handling_delay_seconds", "consumer" => consumer.to_owned())
        .record(seconds_since(event.time));
}

/// Seconds from `at` to now (0 when `at` is in the future, as with a clock skewed between hosts).
pub fn seconds_since(at: Timestamp) -> f64 {
    (Timestamp::now().as_millisecond() - at.as_millisecond()).max(0) as f64 / 1000.0
}
