//! Sending to webhooks: the signature every webhook request carries, and the client for users' personal
//! webhooks, which — unlike the platform's own webhook, set by the operator — point wherever a user
//! typed.
//!
//! A user-supplied URL is a way into the platform's network (server-side request forgery): it could name
//! the cloud's metadata service, the database or an admin port on a private address. So unless the
//! platform allows private destinations (`TODO_WEBHOOK_ALLOW_PRIVATE`; on in dev mode and tests, where
//! receivers run on the same machine), a personal webhook is only ever connected to on a public address:
//! an address in the URL is checked before the request, a host name is resolved by [`PublicOnly`], which
//! hands the connector only the public addresses it resolved to (so a name that resolves differently the
//! second time gains nothing), and redirects are not followed.

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The CloudEvents `type` of the payload a test send POSTs.
pub const TEST_EVENT_TYPE: &str = "todo.webhook.test.v1";

/// `sha256=` + hex HMAC-SHA256 of `"{timestamp}.{body}"`: the receiver recomputes it and rejects stale
/// timestamps, which stops replays.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A signed POST of `body` (JSON) for event `event_id`: `X-Todo-Event-Id`, `X-Todo-Timestamp` and, with a
/// secret, `X-Todo-Signature` ([`signature`]).
pub fn signed_post(
    http: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    event_id: Uuid,
    body: String,
) -> reqwest::RequestBuilder {
    let ts = Timestamp::now().as_second();
    let mut req = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Todo-Event-Id", event_id.to_string())
        .header("X-Todo-Timestamp", ts.to_string());
    if let Some(secret) = secret {
        req = req.header("X-Todo-Signature", signature(secret, ts, &body));
    }
    req.body(body)
}

/// What a personal webhook answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A 2xx status.
    Accepted(u16),
    /// Another status (redirects included: they are not followed).
    Refused(u16),
    /// No answer: refused before sending (a private address), or the connection failed or timed out.
    Failed(String),
}

impl Answer {
    /// The reason a user sees when it was not accepted.
    pub fn error(&self) -> Option<String> {
        match self {
            Answer::Accepted(_) => None,
            Answer::Refused(status) => Some(format!("webhook answered HTTP {status}")),
            Answer::Failed(reason) => Some(reason.clone()),
        }
    }

    pub fn status_code(&self) -> Option<u16> {
        match self {
            Answer::Accepted(s) | Answer::Refused(s) => Some(*s),
            Answer::Failed(_) => None,
        }
    }
}

/// The client for personal webhooks (see the module's documentation).
#[derive(Clone)]
pub struct PersonalWebhooks {
    http: reqwest::Client,
    allow_private: bool,
}

impl PersonalWebhooks {
    pub fn new(allow_private: bool) -> reqwest::Result<PersonalWebhooks> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would make the connection, and the address check with it.
            .no_proxy();
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(PersonalWebhooks {
            http: builder.build()?,
            allow_private,
        })
    }

    /// POST `body` to `url`, signed with `secret`. The reason of a failure names neither the URL (it may
    /// hold the receiver's own token) nor the secret.
    pub async fn send(&self, url: &str, secret: &str, event_id: Uuid, body: String) -> Answer {
        if !self.allow_private
            && let Err(reason) = check_literal_address(url)
        {
            return Answer::Failed(reason);
        }
        let sent = signed_post(&self.http, url, Some(secret), event_id, body)
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => Answer::Accepted(resp.status().as_u16()),
            Ok(resp) => Answer::Refused(resp.status().as_u16()),
            Err(e) => Answer::Failed(crate::roles::notifier::with_causes(&e.without_url())),
        }
    }

    /// A test send: a signed CloudEvent of type [`TEST_EVENT_TYPE`], now.
    pub async fn send_test(
        &self,
        url: &str,
        secret: &str,
        webhook_id: Uuid,
        source: &str,
    ) -> Answer {
        let id = Uuid::now_v7();
        let body = serde_json::json!({
            "specversion": "1.0",
            "id": id,
            "source": source,
            "type": TEST_EVENT_TYPE,
            "time": Timestamp::now(),
            "datacontenttype": "application/json",
            "data": {
                "webhook_id": webhook_id,
                "message": "A test from TodoPlatform: reminders will arrive like this, signed with the same secret.",
            },
        });
        self.send(url, secret, id, body.to_string()).await
    }
}

const PRIVATE_REFUSED: &str = "this platform sends webhooks to public addresses only";

/// Refuse a URL whose host is an IP address that is not public (a name is checked when it resolves).
fn check_literal_address(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let ip = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    if is_public(ip) {
        Ok(())
    } else {
        Err(format!("{PRIVATE_REFUSED}; {ip} is not one"))
    }
}

/// Resolves a host name to its public addresses only; a name with none fails to resolve.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(resolve_public(name.as_str().to_owned()))
    }
}

async fn resolve_public(host: String) -> Result<Addrs, Box<dyn std::error::Error + Send + Sync>> {
    let public: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
        .await?
        .filter(|a| is_public(a.ip()))
        .collect();
    if public.is_empty() {
        return Err(format!("{PRIVATE_REFUSED}; {host} resolves to none").into());
    }
    Ok(Box::new(public.into_iter()))
}

/// Whether an address is on the public internet: not loopback, private (RFC 1918, IPv6 unique local),
/// link-local (which holds clouds' metadata services), carrier-grade NAT, unspecified, broadcast,
/// multicast or documentation space; IPv4 inside IPv6 is judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::/96) carry an IPv4 address.
        || (ip.segments()[..6] == [0, 0, 0, 0, 0, 0])
        || (first == 0x64 && ip.segments()[1] == 0xff9b))
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
        let a = signature("k", 1, "{}");
        assert!(a.starts_with("sha256=") && a.len() == 71);
        assert_ne!(a, signature("k", 2, "{}"), "the timestamp is signed");
        assert_ne!(a, signature("other", 1, "{}"));
    }

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.215.14",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    /// Addresses in the URL are checked before anything is sent; names are left to the resolver.
    #[tokio::test]
    async fn private_literals_are_refused_before_sending() {
        let hooks = PersonalWebhooks::new(false).unwrap();
        for url in [
            "http://127.0.0.1:9/",
            "http://[::1]:9/x",
            "http://169.254.169.254/latest",
        ] {
            let answer = hooks
                .send(url, "whsec_k", Uuid::now_v7(), "{}".into())
                .await;
            let Answer::Failed(reason) = answer else {
                panic!("{url}: {answer:?}")
            };
            assert!(reason.contains("public addresses only"), "{reason}");
        }
        let answer = hooks
            .send(
                "http://localhost:9/",
                "whsec_k",
                Uuid::now_v7(),
                "{}".into(),
            )
            .await;
        let Answer::Failed(reason) = answer else {
            panic!("{answer:?}")
        };
        assert!(reason.contains("public addresses only"), "{reason}");
    }
}
