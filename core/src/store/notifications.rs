//! Where a user's reminders go: their notification settings (email on or off, and to which address) and
//! their personal webhooks, each with its own URL and signing secret.
//!
//! A webhook's secret is `whsec_` and 32 random bytes (base64url), generated here. Unlike an access token's
//! or a calendar feed's, it is stored as it is, not hashed: the notifier signs every delivery with it
//! (HMAC-SHA256), so it needs the key itself. It leaves the store in two ways only: in the answer to a
//! creation or rotation (shown to the user once), and in [`WebhookTarget`], which the notifier and the
//! test send sign with and which cannot be printed. Listings never carry it.
//!
//! The notifier reads these tables at delivery time (it never writes them), so a change of address or a
//! webhook disabled after a reminder fired is honoured by its deliveries and retries.

use crate::domain::task::validate_email;
use crate::error::{Invalid, StoreError, StoreResult};
use crate::store::dialect::{Conn, Dialect, Record, query, query_as};
use crate::store::rows::Owner;
use crate::store::secrets::{NAME_MAX_CHARS, new_secret, validate_name};
use crate::store::{Pool, Store, from_ms, ms};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How every webhook secret begins: leak scanners and people tell it from an access token (`tp_`) or a
/// calendar feed (`tpcal_`).
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";

/// Webhooks one user may have: every reminder is POSTed to each enabled one, so the number bounds the
/// requests one reminder causes.
pub const MAX_WEBHOOKS: i64 = 10;

const URL_MAX_CHARS: usize = 2000;

/// Where the user's reminders are emailed, if at all.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct NotificationSettings {
    /// Whether reminders are emailed (default true).
    pub email_enabled: bool,
    /// Where they are emailed: the chosen address, else the account's.
    pub email_address: String,
    /// True when no address was chosen: the account's email is used, and follows it when it changes.
    pub email_is_account_email: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettingsInput {
    /// Whether reminders are emailed.
    pub email_enabled: bool,
    /// Where to email them; absent or null: the account's email.
    #[schema(format = "email", max_length = 254)]
    pub email_address: Option<String>,
}

/// A personal webhook as listed: never its secret.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Webhook {
    pub id: Uuid,
    pub name: String,
    /// Where reminders are POSTed (http or https).
    pub url: String,
    /// Disabled webhooks get no reminders (a test can still be sent).
    pub enabled: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The last test send, if any.
    pub last_test: Option<WebhookTest>,
}

/// What a test send found.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct WebhookTest {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// True when the webhook answered 2xx.
    pub ok: bool,
    /// The HTTP status it answered, if it answered.
    pub status_code: Option<u16>,
    /// Why it failed (no answer, or a non-2xx status).
    pub error: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// 1..=100 characters after trimming; absent or null: the URL's host.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    /// An absolute http or https URL, at most 2000 characters.
    #[schema(max_length = 2000)]
    pub url: String,
    /// Default true.
    pub enabled: Option<bool>,
}

/// A change to a webhook: absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    pub enabled: Option<bool>,
}

/// A webhook just created (or its secret just rotated), with the secret: the only time it is shown.
// Deliberately not `Debug`, so the secret cannot reach a log through a `{:?}`.
pub struct CreatedWebhook {
    pub webhook: Webhook,
    pub secret: String,
}

/// What a delivery to one webhook needs: where, and the key it is signed with.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub id: Uuid,
    pub url: String,
    pub secret: String,
}

impl std::fmt::Debug for WebhookTarget {
    /// Without the secret (nor the URL, which may hold a token of the receiver's, as chat services' do).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Where one user's reminders go now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationTargets {
    /// The address to email, or `None` when email is off.
    pub email: Option<String>,
    /// The enabled webhooks, oldest first.
    pub webhooks: Vec<WebhookTarget>,
}

/// An absolute http(s) URL with a host, normalised by the URL parser; returns it and its host. Whether
/// the host may be reached (not a private address) is decided when sending, on the address it resolves to.
pub fn validate_webhook_url(raw: &str) -> Result<(String, String), Invalid> {
    let raw = raw.trim();
    let bad = |message: &str| Invalid::new("invalid_url", "url", message.to_owned());
    if raw.is_empty() {
        return Err(Invalid::new("required", "url", "url must not be empty"));
    }
    if raw.chars().count() > URL_MAX_CHARS {
        return Err(Invalid::new(
            "too_long",
            "url",
            format!("url must be at most {URL_MAX_CHARS} characters"),
        ));
    }
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("url is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("url must be http or https"));
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        _ => return Err(bad("url must name a host")),
    };
    if url.as_str().chars().count() > URL_MAX_CHARS {
        return Err(Invalid::new(
            "too_long",
            "url",
            format!("url must be at most {URL_MAX_CHARS} characters"),
        ));
    }
    Ok((url.into(), host))
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: Uuid,
    name: String,
    url: String,
    enabled: bool,
    created_at: i64,
    updated_at: i64,
    last_test_at: Option<i64>,
    last_test_status: Option<i32>,
    last_test_error: Option<String>,
}

const WEBHOOK_COLUMNS: &str = "id, name, url, enabled, created_at, updated_at, last_test_at, \
     last_test_status, last_test_error";

impl From<WebhookRow> for Webhook {
    fn from(r: WebhookRow) -> Webhook {
        let status_code = r.last_test_status.and_then(|s| u16::try_from(s).ok());
        Webhook {
            id: r.id,
            name: r.name,
            url: r.url,
            enabled: r.enabled,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
            last_test: r.last_test_at.map(|at| WebhookTest {
                at: from_ms(at),
                ok: r.last_test_error.is_none(),
                status_code,
                error: r.last_test_error,
            }),
        }
    }
}

impl Store {
    /// The owner's notification settings (the defaults when never set).
    pub async fn notification_settings(&self, owner: &Owner) -> StoreResult<NotificationSettings> {
        let row = match &self.pool {
            Pool::Postgres(p) => settings_row(&mut p.acquire().await?, owner.id).await?,
            Pool::Sqlite(p) => settings_row(&mut p.acquire().await?, owner.id).await?,
        };
        let (enabled, address) = row.unwrap_or((true, None));
        Ok(NotificationSettings {
            email_enabled: enabled,
            email_is_account_email: address.is_none(),
            email_address: address.unwrap_or_else(|| owner.email.clone()),
        })
    }

    /// Replace the owner's notification settings; the address is validated like an account's email.
    pub async fn set_notification_settings(
        &self,
        owner: &Owner,
        input: NotificationSettingsInput,
        now: Timestamp,
    ) -> StoreResult<NotificationSettings> {
        let address = match input.email_address.as_deref() {
            None => None,
            Some(raw) => Some(validate_email(raw).map_err(|e| Invalid {
                field: Some("email_address".into()),
                ..e
            })?),
        };
        match &self.pool {
            Pool::Postgres(p) => {
                upsert_settings(p, owner.id, input.email_enabled, address.as_deref(), now).await?
            }
            Pool::Sqlite(p) => {
                upsert_settings(p, owner.id, input.email_enabled, address.as_deref(), now).await?
            }
        }
        self.notification_settings(owner).await
    }

    /// Add a webhook for `owner` with a new secret; at most [`MAX_WEBHOOKS`] each (409
    /// `too_many_webhooks`).
    pub async fn create_webhook(
        &self,
        owner: &Owner,
        input: WebhookInput,
        now: Timestamp,
    ) -> StoreResult<CreatedWebhook> {
        let (url, host) = validate_webhook_url(&input.url)?;
        let name = match input.name.as_deref() {
            Some(raw) => validate_name(raw)?,
            None => host.chars().take(NAME_MAX_CHARS).collect(),
        };
        let secret = new_secret(WEBHOOK_SECRET_PREFIX);
        let webhook = Webhook {
            id: Uuid::now_v7(),
            name,
            url,
            enabled: input.enabled.unwrap_or(true),
            created_at: now,
            updated_at: now,
            last_test: None,
        };
        match &self.pool {
            Pool::Postgres(p) => insert_webhook(p, owner.id, &webhook, &secret).await?,
            Pool::Sqlite(p) => insert_webhook(p, owner.id, &webhook, &secret).await?,
        }
        Ok(CreatedWebhook { webhook, secret })
    }

    /// The owner's webhooks, oldest first, without their secrets.
    pub async fn list_webhooks(&self, owner: &Owner) -> StoreResult<Vec<Webhook>> {
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE user_id = $1 ORDER BY created_at, id"
        );
        let rows: Vec<WebhookRow> = match &self.pool {
            Pool::Postgres(p) => owners_webhooks(p, &sql, owner.id).await?,
            Pool::Sqlite(p) => owners_webhooks(p, &sql, owner.id).await?,
        };
        Ok(rows.into_iter().map(Webhook::from).collect())
    }

    /// One of the owner's webhooks; another user's is `NotFound`, like a missing one.
    pub async fn webhook(&self, owner: &Owner, id: Uuid) -> StoreResult<Webhook> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND user_id = $2");
        let row: Option<WebhookRow> = match &self.pool {
            Pool::Postgres(p) => own_webhook(p, &sql, id, owner.id).await?,
            Pool::Sqlite(p) => own_webhook(p, &sql, id, owner.id).await?,
        };
        row.map(Webhook::from)
            .ok_or(StoreError::NotFound("webhook"))
    }

    /// Change a webhook's name, URL or whether it is enabled.
    pub async fn update_webhook(
        &self,
        owner: &Owner,
        id: Uuid,
        patch: WebhookPatch,
        now: Timestamp,
    ) -> StoreResult<Webhook> {
        let mut current = self.webhook(owner, id).await?;
        if let Some(raw) = patch.name.as_deref() {
            current.name = validate_name(raw)?;
        }
        if let Some(raw) = patch.url.as_deref() {
            current.url = validate_webhook_url(raw)?.0;
        }
        if let Some(enabled) = patch.enabled {
            current.enabled = enabled;
        }
        current.updated_at = now;
        let n = match &self.pool {
            Pool::Postgres(p) => update_webhook_row(p, owner.id, &current).await?,
            Pool::Sqlite(p) => update_webhook_row(p, owner.id, &current).await?,
        };
        if n == 0 {
            return Err(StoreError::NotFound("webhook"));
        }
        Ok(current)
    }

    /// Delete one of the owner's webhooks: it gets no more reminders, and queued deliveries to it fail.
    pub async fn delete_webhook(&self, owner: &Owner, id: Uuid) -> StoreResult<()> {
        let n = match &self.pool {
            Pool::Postgres(p) => delete_own_webhook(p, id, owner.id).await?,
            Pool::Sqlite(p) => delete_own_webhook(p, id, owner.id).await?,
        };
        if n == 0 {
            Err(StoreError::NotFound("webhook"))
        } else {
            Ok(())
        }
    }

    /// Give a webhook a new secret (the old one stops signing at once); the answer is the only time the
    /// new one is shown.
    pub async fn rotate_webhook_secret(
        &self,
        owner: &Owner,
        id: Uuid,
        now: Timestamp,
    ) -> StoreResult<CreatedWebhook> {
        let secret = new_secret(WEBHOOK_SECRET_PREFIX);
        let n = match &self.pool {
            Pool::Postgres(p) => set_webhook_secret(p, id, owner.id, &secret, now).await?,
            Pool::Sqlite(p) => set_webhook_secret(p, id, owner.id, &secret, now).await?,
        };
        if n == 0 {
            return Err(StoreError::NotFound("webhook"));
        }
        Ok(CreatedWebhook {
            webhook: self.webhook(owner, id).await?,
            secret,
        })
    }

    /// One of the owner's webhooks with its secret, for a test send (enabled or not).
    pub async fn webhook_target(&self, owner: &Owner, id: Uuid) -> StoreResult<WebhookTarget> {
        let sql = "SELECT id, url, secret FROM webhooks WHERE id = $1 AND user_id = $2";
        let row: Option<(Uuid, String, String)> = match &self.pool {
            Pool::Postgres(p) => own_webhook(p, sql, id, owner.id).await?,
            Pool::Sqlite(p) => own_webhook(p, sql, id, owner.id).await?,
        };
        row.map(|(id, url, secret)| WebhookTarget { id, url, secret })
            .ok_or(StoreError::NotFound("webhook"))
    }

    /// Keep what a test send found as the webhook's last test (nothing when it was deleted meanwhile).
    pub async fn record_webhook_test(
        &self,
        owner: &Owner,
        id: Uuid,
        test: &WebhookTest,
    ) -> StoreResult<()> {
        match &self.pool {
            Pool::Postgres(p) => set_webhook_test(p, id, owner.id, test).await,
            Pool::Sqlite(p) => set_webhook_test(p, id, owner.id, test).await,
        }
    }

    /// Where the user's reminders go now: the address to email (none when email is off; the account's
    /// unless another was chosen) and the enabled webhooks with their secrets. Nothing for an account
    /// that no longer exists.
    pub async fn notification_targets(&self, user_id: Uuid) -> StoreResult<NotificationTargets> {
        match &self.pool {
            Pool::Postgres(p) => targets(&mut p.acquire().await?, user_id).await,
            Pool::Sqlite(p) => targets(&mut p.acquire().await?, user_id).await,
        }
    }

    /// The secret of one of the user's webhooks, whether enabled or not (`None` when it was deleted): for
    /// a delivery the notifier retries after recording it.
    pub async fn webhook_target_of(
        &self,
        user_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<(WebhookTarget, bool)>> {
        let sql = "SELECT id, url, secret, enabled FROM webhooks WHERE id = $1 AND user_id = $2";
        let row: Option<(Uuid, String, String, bool)> = match &self.pool {
            Pool::Postgres(p) => own_webhook(p, sql, id, user_id).await?,
            Pool::Sqlite(p) => own_webhook(p, sql, id, user_id).await?,
        };
        Ok(row.map(|(id, url, secret, enabled)| (WebhookTarget { id, url, secret }, enabled)))
    }
}

async fn settings_row<D: Dialect>(
    conn: &mut impl Conn<D>,
    user_id: Uuid,
) -> StoreResult<Option<(bool, Option<String>)>> {
    Ok(query_as(
        "SELECT email_enabled, email_address FROM notification_settings WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?)
}

async fn upsert_settings<D: Dialect>(
    pool: &sqlx::Pool<D>,
    user_id: Uuid,
    enabled: bool,
    address: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    query(
        "INSERT INTO notification_settings (user_id, email_enabled, email_address, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
         email_enabled = excluded.email_enabled, email_address = excluded.email_address, \
         updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(enabled)
    .bind(address.map(str::to_owned))
    .bind(ms(now))
    .execute(&mut pool.acquire().await?)
    .await?;
    Ok(())
}

async fn insert_webhook<D: Dialect>(
    pool: &sqlx::Pool<D>,
    user_id: Uuid,
    w: &Webhook,
    secret: &str,
) -> StoreResult<()> {
    let mut tx = D::begin_write(pool).await?;
    // Writing the user's settings row first (as it is, or with the defaults) locks it until the commit:
    // PostgreSQL then runs one user's creations one after the other, so two at once cannot both count
    // one below the limit (SQLite's write transaction holds the whole database anyway).
    query(
        "INSERT INTO notification_settings (user_id, email_enabled, email_address, updated_at) \
         VALUES ($1, true, NULL, $2) ON CONFLICT (user_id) DO UPDATE SET \
         updated_at = notification_settings.updated_at",
    )
    .bind(user_id)
    .bind(ms(w.created_at))
    .execute(&mut tx)
    .await?;
    let (count,): (i64,) = query_as("SELECT COUNT(*) FROM webhooks WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut tx)
        .await?;
    if count >= MAX_WEBHOOKS {
        return Err(StoreError::Conflict {
            code: "too_many_webhooks",
            field: "url",
            message: format!(
                "you have {MAX_WEBHOOKS} webhooks, the most there can be; delete one first"
            ),
        });
    }
    query(
        "INSERT INTO webhooks (id, user_id, name, url, secret, enabled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(w.id)
    .bind(user_id)
    .bind(w.name.clone())
    .bind(w.url.clone())
    .bind(secret.to_owned())
    .bind(w.enabled)
    .bind(ms(w.created_at))
    .execute(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The user's webhooks as `sql` (binding `$1` the user) reads them.
async fn owners_webhooks<D: Dialect, O: Record>(
    pool: &sqlx::Pool<D>,
    sql: &str,
    user_id: Uuid,
) -> StoreResult<Vec<O>> {
    Ok(query_as(sql)
        .bind(user_id)
        .fetch_all(&mut pool.acquire().await?)
        .await?)
}

/// One of the user's webhooks as `sql` (binding `$1` its id, `$2` the user) reads it.
async fn own_webhook<D: Dialect, O: Record>(
    pool: &sqlx::Pool<D>,
    sql: &str,
    id: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<O>> {
    Ok(query_as(sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(&mut pool.acquire().await?)
        .await?)
}

async fn delete_own_webhook<D: Dialect>(
    pool: &sqlx::Pool<D>,
    id: Uuid,
    user_id: Uuid,
) -> StoreResult<u64> {
    Ok(query("DELETE FROM webhooks WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut pool.acquire().await?)
        .await?)
}

async fn set_webhook_secret<D: Dialect>(
    pool: &sqlx::Pool<D>,
    id: Uuid,
    user_id: Uuid,
    secret: &str,
    now: Timestamp,
) -> StoreResult<u64> {
    Ok(
        query("UPDATE webhooks SET secret = $1, updated_at = $2 WHERE id = $3 AND user_id = $4")
            .bind(secret.to_owned())
            .bind(ms(now))
            .bind(id)
            .bind(user_id)
            .execute(&mut pool.acquire().await?)
            .await?,
    )
}

async fn set_webhook_test<D: Dialect>(
    pool: &sqlx::Pool<D>,
    id: Uuid,
    user_id: Uuid,
    test: &WebhookTest,
) -> StoreResult<()> {
    query(
        "UPDATE webhooks SET last_test_at = $1, last_test_status = $2, last_test_error = $3 \
         WHERE id = $4 AND user_id = $5",
    )
    .bind(ms(test.at))
    .bind(test.status_code.map(i32::from))
    .bind(test.error.clone())
    .bind(id)
    .bind(user_id)
    .execute(&mut pool.acquire().await?)
    .await?;
    Ok(())
}

async fn update_webhook_row<D: Dialect>(
    pool: &sqlx::Pool<D>,
    user_id: Uuid,
    w: &Webhook,
) -> StoreResult<u64> {
    Ok(query(
        "UPDATE webhooks SET name = $1, url = $2, enabled = $3, updated_at = $4 \
         WHERE id = $5 AND user_id = $6",
    )
    .bind(w.name.clone())
    .bind(w.url.clone())
    .bind(w.enabled)
    .bind(ms(w.updated_at))
    .bind(w.id)
    .bind(user_id)
    .execute(&mut pool.acquire().await?)
    .await?)
}

async fn targets<D: Dialect>(
    conn: &mut impl Conn<D>,
    user_id: Uuid,
) -> StoreResult<NotificationTargets> {
    let email: Option<(bool, String)> = query_as(
        "SELECT COALESCE(s.email_enabled, true), COALESCE(s.email_address, u.email) FROM users u \
         LEFT JOIN notification_settings s ON s.user_id = u.id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let webhooks: Vec<(Uuid, String, String)> = query_as(
        "SELECT id, url, secret FROM webhooks WHERE user_id = $1 AND enabled = true \
         ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    Ok(NotificationTargets {
        email: email.and_then(|(enabled, address)| enabled.then_some(address)),
        webhooks: webhooks
            .into_iter()
            .map(|(id, url, secret)| WebhookTarget { id, url, secret })
            .collect(),
    })
}
