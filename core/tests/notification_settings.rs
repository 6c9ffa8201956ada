//! Notification settings and personal webhooks in the store, on SQLite and PostgreSQL: defaults, the
//! chosen address, webhooks with a secret shown at creation and rotation only, the per-user limit,
//! validation naming the field, and never another user's.

use jiff::Timestamp;
use todo_core::store::{
    MAX_WEBHOOKS, NotificationSettingsInput, Owner, WEBHOOK_SECRET_PREFIX, WebhookInput,
    WebhookPatch, WebhookTest,
};
use todo_core::{Store, StoreError, store_test};
use uuid::Uuid;

fn now() -> Timestamp {
    "2026-03-10T12:00:00Z".parse().unwrap()
}

async fn user(store: &Store, email: &str) -> Owner {
    store
        .create_user(email, "argon2-hash", Some("Test"), Some("UTC"), now())
        .await
        .unwrap()
}

fn hook(name: Option<&str>, url: &str) -> WebhookInput {
    WebhookInput {
        name: name.map(str::to_owned),
        url: url.to_owned(),
        enabled: None,
    }
}

fn invalid<T>(r: Result<T, StoreError>) -> (&'static str, String) {
    match r {
        Err(StoreError::Invalid(e)) => (e.code, e.field.unwrap_or_default().into_owned()),
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("accepted"),
    }
}

store_test!(
    /// Email is on, to the account's address, until set otherwise; a chosen address is normalised and
    /// validated; null goes back to the account's. The notifier's targets follow.
    notification_settings, |store| {
    let ada = user(&store, "ada@example.com").await;
    let s = store.notification_settings(&ada).await.unwrap();
    assert!(s.email_enabled && s.email_is_account_email);
    assert_eq!(s.email_address, "ada@example.com");
    let t = store.notification_targets(ada.id).await.unwrap();
    assert_eq!(t.email.as_deref(), Some("ada@example.com"));
    assert!(t.webhooks.is_empty());

    let set = |enabled: bool, address: Option<&str>| NotificationSettingsInput {
        email_enabled: enabled,
        email_address: address.map(str::to_owned),
    };
    let s = store.set_notification_settings(&ada, set(true, Some(" Ada@Work.Example ")), now()).await.unwrap();
    assert_eq!((s.email_address.as_str(), s.email_is_account_email), ("ada@work.example", false));
    assert_eq!(store.notification_targets(ada.id).await.unwrap().email.as_deref(), Some("ada@work.example"));

    let s = store.set_notification_settings(&ada, set(false, Some("ada@work.example")), now()).await.unwrap();
    assert!(!s.email_enabled);
    assert_eq!(store.notification_targets(ada.id).await.unwrap().email, None, "email off");

    let s = store.set_notification_settings(&ada, set(true, None), now()).await.unwrap();
    assert!(s.email_enabled && s.email_is_account_email);
    assert_eq!(s.email_address, "ada@example.com");

    for bad in ["", "no-at-sign", "a@b", "a b@example.com"] {
        assert_eq!(invalid(store.set_notification_settings(&ada, set(true, Some(bad)), now()).await),
            ("invalid_email", "email_address".to_owned()), "{bad:?}");
    }
    assert_eq!(store.notification_settings(&ada).await.unwrap(), s, "a refused change changes nothing");

    let bob = user(&store, "bob@example.com").await;
    assert_eq!(store.notification_settings(&bob).await.unwrap().email_address, "bob@example.com");
    let gone = store.notification_targets(Uuid::now_v7()).await.unwrap();
    assert_eq!((gone.email, gone.webhooks.len()), (None, 0), "an unknown user has nowhere to go");
});

store_test!(
    /// Webhooks: created with a `whsec_` secret the listing never shows; the notifier's targets carry
    /// the enabled ones with their secrets; patch, rotate, test result, delete; another user's id is not
    /// found anywhere; bad URLs and names are refused naming the field; at most MAX_WEBHOOKS each.
    webhooks, |store| {
    let ada = user(&store, "ada@example.com").await;
    let bob = user(&store, "bob@example.com").await;
    let a = store.create_webhook(&ada, hook(Some(" Zapier "), "https://hooks.example.com/a?x=1"), now()).await.unwrap();
    assert!(a.secret.starts_with(WEBHOOK_SECRET_PREFIX));
    assert_eq!(a.secret.len(), WEBHOOK_SECRET_PREFIX.len() + 43, "32 bytes, base64url");
    assert_eq!((a.webhook.name.as_str(), a.webhook.url.as_str(), a.webhook.enabled), ("Zapier", "https://hooks.example.com/a?x=1", true));
    assert_eq!(a.webhook.last_test, None);
    let b = store.create_webhook(&ada, hook(None, "http://10.0.0.5:8080/in"), now()).await.unwrap();
    assert_eq!(b.webhook.name, "10.0.0.5", "named after the host");
    assert_ne!(a.secret, b.secret);
    let bobs = store.create_webhook(&bob, hook(None, "https://bob.example/hook"), now()).await.unwrap();

    assert_eq!(store.list_webhooks(&ada).await.unwrap(), [a.webhook.clone(), b.webhook.clone()]);
    assert_eq!(store.list_webhooks(&bob).await.unwrap(), std::slice::from_ref(&bobs.webhook));
    let targets = store.notification_targets(ada.id).await.unwrap();
    assert_eq!(targets.webhooks.iter().map(|t| (t.id, t.secret.as_str())).collect::<Vec<_>>(),
        [(a.webhook.id, a.secret.as_str()), (b.webhook.id, b.secret.as_str())]);
    assert!(!format!("{targets:?}").contains(WEBHOOK_SECRET_PREFIX), "Debug leaves the secret out");

    // Another user's webhook is not found, whatever is asked.
    let not_found = |r: Result<(), StoreError>| assert!(matches!(r, Err(StoreError::NotFound("webhook"))), "{r:?}");
    not_found(store.webhook(&bob, a.webhook.id).await.map(drop));
    not_found(store.update_webhook(&bob, a.webhook.id, WebhookPatch { enabled: Some(false), ..Default::default() }, now()).await.map(drop));
    not_found(store.rotate_webhook_secret(&bob, a.webhook.id, now()).await.map(drop));
    not_found(store.webhook_target(&bob, a.webhook.id).await.map(drop));
    not_found(store.delete_webhook(&bob, a.webhook.id).await);
    assert_eq!(store.webhook_target_of(bob.id, a.webhook.id).await.unwrap(), None);
    assert_eq!(store.webhook(&ada, a.webhook.id).await.unwrap(), a.webhook, "unchanged");

    let later: Timestamp = "2026-03-10T13:00:00Z".parse().unwrap();
    let patched = store.update_webhook(&ada, b.webhook.id, WebhookPatch {
        name: Some("Home".into()), url: Some("https://home.example/in".into()), enabled: Some(false),
    }, later).await.unwrap();
    assert_eq!((patched.name.as_str(), patched.url.as_str(), patched.enabled, patched.updated_at), ("Home", "https://home.example/in", false, later));
    let targets = store.notification_targets(ada.id).await.unwrap();
    assert_eq!(targets.webhooks.iter().map(|t| t.id).collect::<Vec<_>>(), [a.webhook.id], "disabled ones get nothing");
    let (target, enabled) = store.webhook_target_of(ada.id, b.webhook.id).await.unwrap().unwrap();
    assert_eq!((target.url.as_str(), enabled), ("https://home.example/in", false));

    let rotated = store.rotate_webhook_secret(&ada, a.webhook.id, later).await.unwrap();
    assert!(rotated.secret.starts_with(WEBHOOK_SECRET_PREFIX));
    assert_ne!(rotated.secret, a.secret);
    assert_eq!(store.webhook_target(&ada, a.webhook.id).await.unwrap().secret, rotated.secret, "the old secret is gone");

    let test = WebhookTest { at: later, ok: false, status_code: Some(500), error: Some("webhook answered HTTP 500".into()) };
    store.record_webhook_test(&ada, a.webhook.id, &test).await.unwrap();
    store.record_webhook_test(&bob, b.webhook.id, &WebhookTest { at: later, ok: true, status_code: Some(200), error: None }).await.unwrap();
    assert_eq!(store.webhook(&ada, a.webhook.id).await.unwrap().last_test, Some(test));
    assert_eq!(store.webhook(&ada, b.webhook.id).await.unwrap().last_test, None, "another user's test result is not kept");

    for (url, code) in [("", "required"), ("ftp://example.com/x", "invalid_url"), ("not a url", "invalid_url"),
        ("https://", "invalid_url"), ("mailto:ada@example.com", "invalid_url"), (&format!("https://example.com/{}", "x".repeat(2000))[..], "too_long")] {
        assert_eq!(invalid(store.create_webhook(&ada, hook(None, url), now()).await), (code, "url".to_owned()), "{url:?}");
        assert_eq!(invalid(store.update_webhook(&ada, a.webhook.id, WebhookPatch { url: Some(url.into()), ..Default::default() }, now()).await), (code, "url".to_owned()));
    }
    for (name, code) in [("  ", "required"), (&"x".repeat(101)[..], "too_long"), ("a\nb", "invalid_characters")] {
        assert_eq!(invalid(store.create_webhook(&ada, hook(Some(name), "https://example.com"), now()).await), (code, "name".to_owned()));
    }

    store.delete_webhook(&ada, b.webhook.id).await.unwrap();
    not_found(store.delete_webhook(&ada, b.webhook.id).await);
    assert_eq!(store.webhook_target_of(ada.id, b.webhook.id).await.unwrap(), None);
    assert_eq!(store.list_webhooks(&ada).await.unwrap().len(), 1);

    for i in 1..MAX_WEBHOOKS {
        store.create_webhook(&ada, hook(None, &format!("https://example.com/{i}")), now()).await.unwrap();
    }
    match store.create_webhook(&ada, hook(None, "https://example.com/one-more"), now()).await {
        Err(StoreError::Conflict { code, .. }) => assert_eq!(code, "too_many_webhooks"),
        other => panic!("{:?}", other.map(|c| c.webhook)),
    }
    assert_eq!(store.list_webhooks(&ada).await.unwrap().len() as i64, MAX_WEBHOOKS);
    store.create_webhook(&bob, hook(None, "https://bob.example/2"), now()).await.unwrap();
});

store_test!(
    /// Concurrent creations cannot pass the limit together (each counts after the one before committed).
    webhook_limit_holds_under_concurrency, |store| {
    let ada = user(&store, "ada@example.com").await;
    let tries = (0..MAX_WEBHOOKS + 5).map(|i| {
        let store = store.clone();
        let ada = ada.clone();
        tokio::spawn(async move {
            store.create_webhook(&ada, hook(None, &format!("https://example.com/{i}")), now()).await.is_ok()
        })
    });
    let mut made = 0;
    for t in tries {
        made += i64::from(t.await.unwrap());
    }
    assert_eq!(made, MAX_WEBHOOKS);
    assert_eq!(store.list_webhooks(&ada).await.unwrap().len() as i64, MAX_WEBHOOKS);
});
