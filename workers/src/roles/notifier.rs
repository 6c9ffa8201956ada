//! notifier: `reminder.due` → an email (SMTP, STARTTLS/TLS/auth from the URL) and/or a signed webhook.
//!
//! The notifier owns the retrying, not the broker. An event is first recorded as one delivery per
//! channel (`deliveries::record`, holding the event), and then answered SUCCESS: neither Dapr nor the
//! in-process bus dead-letters a reminder because a mail server is down. Each delivery is attempted at
//! once, and a failed one again by [`Notifier::run_retries`] with backoff (`RetryPolicy`: by default 30 s
//! doubling to hourly, for 24 h) until it is sent or the window passes (`failed`, with the last reason;
//! the API can put it back in the queue). An attempt first claims its delivery, so the same event
//! delivered twice — or two replicas at once — sends one email; a claim left by a worker that died
//! mid-send is retaken after its lease.

use crate::config::{NotifyConfig, RetryPolicy};
use crate::deliveries;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;
use std::time::Duration;
use todo_core::Store;
use todo_core::events::{CloudEvent, ReminderDueData, kind};
use todo_core::model::{Channel, DeliveryStatus};
use todo_events::bus::Outcome;
use tokio::sync::watch;
use uuid::Uuid;

/// How long an attempt holds its claim; one left longer than this is presumed abandoned (the worker died
/// mid-send) and may be retaken. Longer than any attempt takes (SMTP and webhook time out sooner).
const CLAIM_LEASE: SignedDuration = SignedDuration::from_secs(120);
/// Deliveries attempted per pass of the retry loop.
const RETRY_BATCH: u32 = 50;
/// The retry loop looks for due deliveries at least this often (replays come from the API, which may run
/// in another process), and at most as often as the shortest backoff.
const RETRY_POLL: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Notifier {
    store: Store,
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    webhook: Option<(String, Option<String>)>,
    http: reqwest::Client,
    public_url: String,
    policy: RetryPolicy,
}

impl Notifier {
    pub fn new(store: Store, cfg: &NotifyConfig) -> anyhow::Result<Notifier> {
        let mailer = match &cfg.smtp_url {
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("TODO_SMTP_URL is not a valid SMTP URL: {e}"))?
                    .timeout(Some(Duration::from_secs(15)))
                    .build(),
            ),
            None => None,
        };
        let from: Mailbox = cfg
            .smtp_from
            .parse()
            .map_err(|e| anyhow::anyhow!("TODO_SMTP_FROM is not a mailbox: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Notifier {
            store,
            mailer,
            from,
            webhook: cfg
                .webhook_url
                .clone()
                .map(|u| (u, cfg.webhook_secret.clone())),
            http,
            public_url: cfg.public_url.trim_end_matches('/').to_owned(),
            policy: cfg.retry,
        })
    }

    pub async fn handle(&self, event: &CloudEvent) -> Outcome {
        self.handle_at(event, Timestamp::now()).await
    }

    /// [`handle`](Self::handle) at a given time: record the event's deliveries, attempt each once, and
    /// answer SUCCESS once they are recorded (whatever the attempts did: failures are retried from the
    /// record). RETRY only when they could not be recorded.
    pub async fn handle_at(&self, event: &CloudEvent, now: Timestamp) -> Outcome {
        if event.kind != kind::REMINDER_DUE {
            return Outcome::Success;
        }
        let data: ReminderDueData = match serde_json::from_value(event.data.clone()) {
            Ok(d) => d,
            Err(e) => return Outcome::Drop(format!("malformed reminder event: {e}")),
        };
        let mut channels = vec![(Channel::Email, data.user.email.as_str())];
        if let Some((url, _)) = &self.webhook {
            channels.push((Channel::Webhook, url.as_str()));
        }
        if let Err(e) = deliveries::record(&self.store, event, &data, &channels, now).await {
            return Outcome::Retry(format!("cannot record the deliveries: {e}"));
        }
        metrics::histogram!("reminder_notify_delay_seconds")
            .record(crate::metrics::seconds_since(data.fire_at));
        for (channel, _) in channels {
            if let Err(e) = self.attempt(event.id, channel, now).await {
                // The record stays due (or claimed until its lease ends): the retry loop takes it up.
                tracing::warn!(event_id = %event.id, channel = channel.as_str(), error = %e, "delivery attempt not recorded");
            }
        }
        Outcome::Success
    }

    /// Attempt every delivery due at `now` (one batch); returns how many were attempted.
    pub async fn retry_due(&self, now: Timestamp) -> Result<usize, sqlx::Error> {
        let due = deliveries::due(&self.store, now, RETRY_BATCH).await?;
        let mut attempted = 0;
        for (event_id, channel) in due {
            if self.attempt(event_id, channel, now).await?.is_some() {
                attempted += 1;
            }
        }
        Ok(attempted)
    }

    /// Retry due deliveries until `stop`: sleeps until the next one is due (checking at least every few
    /// seconds for replays requested through the API).
    pub async fn run_retries(self, mut stop: watch::Receiver<bool>) {
        let poll = RETRY_POLL.min(self.policy.initial.unsigned_abs());
        loop {
            let now = Timestamp::now();
            let wait = match self.retry_due(now).await {
                Ok(n) if n as u32 >= RETRY_BATCH => Duration::ZERO,
                Ok(_) => match deliveries::next_due_at(&self.store).await {
                    Ok(Some(next)) => next.duration_since(now).unsigned_abs().min(poll),
                    Ok(None) => poll,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the notification queue");
                        poll
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "notification retries failed; trying again shortly");
                    poll
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait.max(Duration::from_millis(20))) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Claim, send, record. `None` when the delivery was not attempted (sent, not due, or being attempted
    /// elsewhere), else its new status.
    async fn attempt(
        &self,
        event_id: Uuid,
        channel: Channel,
        now: Timestamp,
    ) -> Result<Option<DeliveryStatus>, sqlx::Error> {
        let Some(claimed) =
            deliveries::claim(&self.store, event_id, channel, now, CLAIM_LEASE).await?
        else {
            metrics::counter!("notifications_duplicates_skipped_total", "channel" => channel.as_str()).increment(1);
            return Ok(None);
        };
        let result = self.send(&claimed).await;
        let status = match &result {
            Ok(()) => {
                deliveries::mark_sent(&self.store, event_id, channel, now).await?;
                DeliveryStatus::Sent
            }
            Err(e) => {
                deliveries::mark_failed(&self.store, event_id, channel, e, now, &self.policy)
                    .await?
            }
        };
        metrics::counter!("notifications_total", "channel" => channel.as_str(), "status" => status.as_str())
            .increment(1);
        match (&result, status) {
            (Err(e), DeliveryStatus::Failed) => {
                tracing::error!(%event_id, channel = channel.as_str(),
                attempts = claimed.attempts, error = %e, "notification failed; gave up retrying")
            }
            (Err(e), _) => {
                tracing::warn!(%event_id, channel = channel.as_str(), attempts = claimed.attempts,
                error = %e, "notification failed; will retry")
            }
            (Ok(()), _) if claimed.attempts > 1 => {
                tracing::info!(%event_id, channel = channel.as_str(),
                attempts = claimed.attempts, "notification sent after retrying")
            }
            _ => {}
        }
        Ok(Some(status))
    }

    async fn send(&self, claimed: &deliveries::Claimed) -> Result<(), String> {
        let event: CloudEvent = serde_json::from_str(&claimed.payload)
            .map_err(|e| format!("stored event unreadable: {e}"))?;
        match claimed.channel {
            Channel::Email => {
                let data: ReminderDueData = serde_json::from_value(event.data.clone())
                    .map_err(|e| format!("stored event unreadable: {e}"))?;
                self.send_email(&data, &claimed.recipient).await
            }
            Channel::Webhook => match &self.webhook {
                Some((url, secret)) => {
                    send_webhook(&self.http, url, secret.as_deref(), &event).await
                }
                None => Err("no webhook is configured any more (TODO_WEBHOOK_URL)".into()),
            },
        }
    }

    async fn send_email(&self, data: &ReminderDueData, recipient: &str) -> Result<(), String> {
        let (subject, body) = render_email(data, &self.public_url);
        let Some(mailer) = &self.mailer else {
            tracing::info!(to = %recipient, %subject, "reminder (no SMTP configured, logged instead of mailed)\n{body}");
            return Ok(());
        };
        let to: Mailbox = recipient
            .parse()
            .map_err(|e| format!("bad recipient {recipient}: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())?;
        mailer
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Subject and plain-text body; the due time is shown in the user's own zone.
pub fn render_email(data: &ReminderDueData, public_url: &str) -> (String, String) {
    let task = &data.task;
    let tz = todo_core::domain::time_zone::stored_time_zone(&data.user.time_zone);
    let due = match &task.due {
        Some(d) if d.all_day => format!("{} (all day)", d.date.strftime("%A, %-d %B %Y")),
        Some(d) => {
            let z = d.at.to_zoned(tz);
            format!(
                "{} ({})",
                z.strftime("%A, %-d %B %Y, %H:%M %Z"),
                data.user.time_zone
            )
        }
        None => "no due date".to_owned(),
    };
    let greeting = if data.user.display_name.is_empty() {
        "Hello".to_owned()
    } else {
        format!("Hello {}", data.user.display_name)
    };
    let subject = format!("Reminder: {}", task.title);
    let mut body = format!(
        "{greeting},\n\nthis is your reminder for:\n\n  {}\n  Due: {due}\n",
        task.title
    );
    if !task.description.is_empty() {
        body.push_str(&format!("\n{}\n", task.description));
    }
    body.push_str(&format!(
        "\nOpen it: {public_url}/#task/{}\n\n— TodoPlatform\n",
        task.id
    ));
    (subject, body)
}

/// `sha256=` + hex HMAC-SHA256 of `"{timestamp}.{body}"`: the receiver recomputes it and rejects stale
/// timestamps, which stops replays.
pub fn webhook_signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn send_webhook(
    http: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    event: &CloudEvent,
) -> Result<(), String> {
    let body = serde_json::to_string(event).map_err(|e| e.to_string())?;
    let ts = Timestamp::now().as_second();
    let mut req = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Todo-Event-Id", event.id.to_string())
        .header("X-Todo-Timestamp", ts.to_string());
    if let Some(secret) = secret {
        req = req.header("X-Todo-Signature", webhook_signature(secret, ts, &body));
    }
    // Users see this reason; the webhook's URL is the platform's, not theirs.
    let resp = req
        .body(body)
        .send()
        .await
        .map_err(|e| with_causes(&e.without_url()))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("webhook answered {}", resp.status()))
    }
}

/// An error and its causes, `a: b: c` (reqwest's own message leaves out why a request failed).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature is HMAC-SHA256 over "timestamp.body" (RFC 4231 test vector 2 checks the primitive).
    #[test]
    fn signature_is_hmac_sha256() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let a = webhook_signature("k", 1, "{}");
        assert!(a.starts_with("sha256=") && a.len() == 71);
        assert_ne!(
            a,
            webhook_signature("k", 2, "{}"),
            "the timestamp is signed"
        );
        assert_ne!(a, webhook_signature("other", 1, "{}"));
    }
}
