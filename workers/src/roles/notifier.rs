//! notifier: `reminder.due` → an email (SMTP, STARTTLS/TLS/auth from the URL) and signed webhooks.
//!
//! Where a reminder goes is read when it is delivered, from its user's notification settings (which the
//! API owns; the notifier only reads them): an email unless the user turned email off, to the address
//! they chose or else their account's; a POST to each of their enabled personal webhooks, signed with
//! that webhook's own secret; and a POST to the platform's webhook when the operator configured one
//! (`TODO_WEBHOOK_URL`): that one receives every user's reminders, for the platform's own automation.
//! The settings are read, not carried in the event, so webhook secrets never travel through the outbox,
//! the broker or the deliveries' stored events.
//!
//! The notifier owns the retrying, not the broker. An event is first recorded as one delivery per
//! target (`deliveries::record`, holding the event), and then answered SUCCESS: neither Dapr nor the
//! in-process bus dead-letters a reminder because a mail server is down. Each delivery is attempted at
//! once, and a failed one again by [`Notifier::run_retries`] with backoff (`RetryPolicy`: by default 30 s
//! doubling to hourly, for 24 h) until it is sent or the window passes (`failed`, with the last reason;
//! the API can put it back in the queue). An attempt first claims its delivery, so the same event
//! delivered twice — or two replicas at once — sends one email; a claim left by a worker that died
//! mid-send is retaken after its lease.

use crate::config::{NotifyConfig, RetryPolicy};
use crate::deliveries::{self, Target};
use crate::webhook::{Answer, PersonalWebhooks, signed_post};
use jiff::{SignedDuration, Timestamp};
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
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
    /// The platform's webhook (operator-configured, trusted: any address, redirects followed).
    webhook: Option<(String, Option<String>)>,
    http: reqwest::Client,
    /// Users' webhooks (user-supplied URLs: see `webhook` for what is refused).
    personal: PersonalWebhooks,
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
            personal: PersonalWebhooks::new(cfg.allow_private_webhooks())?,
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
        let settings = match self.store.notification_targets(data.user.id).await {
            Ok(settings) => settings,
            Err(e) => return Outcome::Retry(format!("cannot read the notification settings: {e}")),
        };
        let mut targets = Vec::new();
        if let Some(address) = &settings.email {
            targets.push(Target {
                channel: Channel::Email,
                recipient: address,
                webhook_id: None,
            });
        }
        if let Some((url, _)) = &self.webhook {
            targets.push(Target {
                channel: Channel::Webhook,
                recipient: url,
                webhook_id: None,
            });
        }
        for hook in &settings.webhooks {
            targets.push(Target {
                channel: Channel::Webhook,
                recipient: &hook.url,
                webhook_id: Some(hook.id),
            });
        }
        let ids = match deliveries::record(&self.store, event, &data, &targets, now).await {
            Ok(ids) => ids,
            Err(e) => return Outcome::Retry(format!("cannot record the deliveries: {e}")),
        };
        metrics::histogram!("reminder_notify_delay_seconds")
            .record(crate::metrics::seconds_since(data.fire_at));
        for id in ids {
            if let Err(e) = self.attempt(id, now).await {
                // The record stays due (or claimed until its lease ends): the retry loop takes it up.
                tracing::warn!(event_id = %event.id, delivery_id = %id, error = %e, "delivery attempt not recorded");
            }
        }
        Outcome::Success
    }

    /// Attempt every delivery due at `now` (one batch); returns how many were attempted.
    pub async fn retry_due(&self, now: Timestamp) -> Result<usize, sqlx::Error> {
        let due = deliveries::due(&self.store, now, RETRY_BATCH).await?;
        let mut attempted = 0;
        for id in due {
            if self.attempt(id, now).await?.is_some() {
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
        id: Uuid,
        now: Timestamp,
    ) -> Result<Option<DeliveryStatus>, sqlx::Error> {
        let Some(claimed) = deliveries::claim(&self.store, id, now, CLAIM_LEASE).await? else {
            metrics::counter!("notifications_duplicates_skipped_total").increment(1);
            return Ok(None);
        };
        let (event_id, channel, webhook_id) =
            (claimed.event_id, claimed.channel, claimed.webhook_id);
        let result = self.send(&claimed).await;
        let status = match &result {
            Ok(()) => {
                deliveries::mark_sent(&self.store, id, now).await?;
                DeliveryStatus::Sent
            }
            Err(Failure::Retry(e)) => {
                deliveries::mark_failed(&self.store, id, e, now, Some(&self.policy)).await?
            }
            Err(Failure::GiveUp(e)) => {
                deliveries::mark_failed(&self.store, id, e, now, None).await?
            }
        };
        metrics::counter!("notifications_total", "channel" => channel.as_str(), "status" => status.as_str())
            .increment(1);
        // Neither a personal webhook's URL nor its secret is logged: its id says which it was.
        let webhook_id = webhook_id.map(|id| id.to_string()).unwrap_or_default();
        match (&result, status) {
            (Err(Failure::GiveUp(e)), _) => {
                tracing::info!(%event_id, channel = channel.as_str(), webhook_id,
                reason = %e, "notification dropped")
            }
            (Err(Failure::Retry(e)), DeliveryStatus::Failed) => {
                tracing::error!(%event_id, channel = channel.as_str(), webhook_id,
                attempts = claimed.attempts, error = %e, "notification failed; gave up retrying")
            }
            (Err(Failure::Retry(e)), _) => {
                tracing::warn!(%event_id, channel = channel.as_str(), webhook_id,
                attempts = claimed.attempts, error = %e, "notification failed; will retry")
            }
            (Ok(()), _) if claimed.attempts > 1 => {
                tracing::info!(%event_id, channel = channel.as_str(), webhook_id,
                attempts = claimed.attempts, "notification sent after retrying")
            }
            _ => {}
        }
        Ok(Some(status))
    }

    async fn send(&self, claimed: &deliveries::Claimed) -> Result<(), Failure> {
        let event: CloudEvent = serde_json::from_str(&claimed.payload)
            .map_err(|e| Failure::Retry(format!("stored event unreadable: {e}")))?;
        match (claimed.channel, claimed.webhook_id) {
            (Channel::Email, _) => {
                let data: ReminderDueData = serde_json::from_value(event.data.clone())
                    .map_err(|e| Failure::Retry(format!("stored event unreadable: {e}")))?;
                self.send_email(&data, &claimed.recipient)
                    .await
                    .map_err(Failure::Retry)
            }
            (Channel::Webhook, None) => match &self.webhook {
                Some((url, secret)) => send_webhook(&self.http, url, secret.as_deref(), &event)
                    .await
                    .map_err(Failure::Retry),
                None => Err(Failure::Retry(
                    "no webhook is configured any more (TODO_WEBHOOK_URL)".into(),
                )),
            },
            (Channel::Webhook, Some(webhook_id)) => {
                self.send_personal(claimed, webhook_id, &event).await
            }
        }
    }

    /// POST to one of the user's webhooks as it is now: its current URL and secret (a rotated secret
    /// signs retries too); a webhook deleted or disabled since the reminder fired gets nothing.
    async fn send_personal(
        &self,
        claimed: &deliveries::Claimed,
        webhook_id: Uuid,
        event: &CloudEvent,
    ) -> Result<(), Failure> {
        let Some(user_id) = claimed.user_id else {
            return Err(Failure::GiveUp("the delivery names no user".into()));
        };
        let target = match self.store.webhook_target_of(user_id, webhook_id).await {
            Ok(Some((target, true))) => target,
            Ok(Some((_, false))) => return Err(Failure::GiveUp("the webhook was disabled".into())),
            Ok(None) => return Err(Failure::GiveUp("the webhook was deleted".into())),
            Err(e) => return Err(Failure::Retry(format!("cannot read the webhook: {e}"))),
        };
        let body = serde_json::to_string(event).map_err(|e| Failure::Retry(e.to_string()))?;
        match self
            .personal
            .send(&target.url, &target.secret, event.id, body)
            .await
        {
            Answer::Accepted(_) => Ok(()),
            refused => Err(Failure::Retry(refused.error().unwrap_or_default())),
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

/// Why an attempt failed, and whether trying again can help.
enum Failure {
    Retry(String),
    /// The webhook it was for is gone or disabled: give up at once.
    GiveUp(String),
}

/// POST to the platform's webhook.
async fn send_webhook(
    http: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    event: &CloudEvent,
) -> Result<(), String> {
    let body = serde_json::to_string(event).map_err(|e| e.to_string())?;
    // Users see this reason; the webhook's URL is the platform's, not theirs.
    let resp = signed_post(http, url, secret, event.id, body)
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
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
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
