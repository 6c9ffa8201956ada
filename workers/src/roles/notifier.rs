//! notifier: `reminder.due` → an email (SMTP, STARTTLS/TLS/auth from the URL) and/or a signed webhook.
//!
//! Each (event, channel) is claimed in `worker_deliveries` before sending and marked `sent` after, so the
//! same event delivered twice — or to two replicas at once — sends one email. A failed send is recorded
//! and answered RETRY; after the bounded attempts the event goes to the dead-letter topic.

use crate::bus::Outcome;
use crate::config::NotifyConfig;
use crate::storage::on_store;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;
use std::time::Duration;
use todo_core::Store;
use todo_core::events::{CloudEvent, ReminderDueData, kind};
use uuid::Uuid;

/// A claim older than this is presumed abandoned (the worker died mid-send) and may be retaken.
const STALE_CLAIM_MS: i64 = 120_000;

#[derive(Clone)]
pub struct Notifier {
    store: Store,
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    webhook: Option<(String, Option<String>)>,
    http: reqwest::Client,
    public_url: String,
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
        })
    }

    pub async fn handle(&self, event: &CloudEvent) -> Outcome {
        if event.kind != kind::REMINDER_DUE {
            return Outcome::Success;
        }
        let data: ReminderDueData = match serde_json::from_value(event.data.clone()) {
            Ok(d) => d,
            Err(e) => return Outcome::Drop(format!("malformed reminder event: {e}")),
        };
        let mut failures = Vec::new();
        let email = self
            .deliver(event.id, "email", &data.user.email, || {
                self.send_email(&data)
            })
            .await;
        if let Err(e) = email {
            failures.push(format!("email: {e}"));
        }
        let webhook = match &self.webhook {
            Some((url, secret)) => {
                self.deliver(event.id, "webhook", url, || {
                    send_webhook(&self.http, url, secret.as_deref(), event)
                })
                .await
            }
            None => Ok(()),
        };
        if let Err(e) = webhook {
            failures.push(format!("webhook: {e}"));
        }
        if failures.is_empty() {
            Outcome::Success
        } else {
            Outcome::Retry(failures.join("; "))
        }
    }

    /// Claim, send, record. Returns Ok when sent now or already sent/being sent elsewhere.
    async fn deliver<F, Fut>(
        &self,
        event_id: Uuid,
        channel: &str,
        recipient: &str,
        send: F,
    ) -> Result<(), String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let now = Timestamp::now().as_millisecond();
        let claimed = on_store!(self.store, p => {
            sqlx::query(
                "INSERT INTO worker_deliveries (event_id, channel, recipient, status, attempts, updated_at) \
                 VALUES ($1, $2, $3, 'sending', 1, $4) \
                 ON CONFLICT (event_id, channel) DO UPDATE SET status = 'sending', attempts = worker_deliveries.attempts + 1, \
                 updated_at = excluded.updated_at \
                 WHERE worker_deliveries.status = 'failed' OR (worker_deliveries.status = 'sending' AND worker_deliveries.updated_at < $5)",
            )
            .bind(event_id).bind(channel).bind(recipient).bind(now).bind(now - STALE_CLAIM_MS)
            .execute(p).await.map(|r| r.rows_affected())
        })
        .map_err(|e| e.to_string())?
            == 1;
        if !claimed {
            metrics::counter!("notifications_duplicates_skipped_total", "channel" => channel.to_owned()).increment(1);
            return Ok(());
        }
        let result = send().await;
        let (status, error) = match &result {
            Ok(()) => ("sent", None),
            Err(e) => ("failed", Some(e.clone())),
        };
        metrics::counter!("notifications_total", "channel" => channel.to_owned(), "status" => status).increment(1);
        on_store!(self.store, p => {
            sqlx::query("UPDATE worker_deliveries SET status = $1, last_error = $2, updated_at = $3 WHERE event_id = $4 AND channel = $5")
                .bind(status).bind(error).bind(Timestamp::now().as_millisecond()).bind(event_id).bind(channel)
                .execute(p).await.map(|r| r.rows_affected())
        })
        .map_err(|e| e.to_string())?;
        result
    }

    async fn send_email(&self, data: &ReminderDueData) -> Result<(), String> {
        let (subject, body) = render_email(data, &self.public_url);
        let Some(mailer) = &self.mailer else {
            tracing::info!(to = %data.user.email, %subject, "reminder (no SMTP configured, logged instead of mailed)\n{body}");
            return Ok(());
        };
        let to: Mailbox = data
            .user
            .email
            .parse()
            .map_err(|e| format!("bad recipient {}: {e}", data.user.email))?;
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
    let resp = req.body(body).send().await.map_err(|e| e.to_string())?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("webhook answered {}", resp.status()))
    }
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
