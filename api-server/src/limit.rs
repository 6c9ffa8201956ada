//! Failed-login limits: per account and per client address, so a password cannot be guessed quickly
//! against one account or sprayed across many from one address. Kept in memory per process: with N
//! replicas behind a balancer an attacker gets up to N times the budget, which still turns a fast guess
//! into a slow one; a shared store would be needed for an exact limit.
//!
//! Behind a proxy the connection's address is the proxy's, shared by every client: counted as is, 20
//! typos anywhere would lock everyone out. So a request from a trusted proxy (`TODO_TRUSTED_PROXIES`)
//! is counted against the client its `X-Forwarded-For` names.

use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins one account absorbs in [`WINDOW`] before further attempts wait.
pub const PER_ACCOUNT: u32 = 5;
/// Failed logins one client address makes in [`WINDOW`] before further attempts wait.
pub const PER_ADDRESS: u32 = 20;
/// How long failures count.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys kept before expired ones are swept (bounds memory under a spray of distinct emails).
const SWEEP_AT: usize = 10_000;

/// The addresses of the proxies in front of the server, whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&address))
    }
}

/// Comma-separated addresses (`10.0.0.7`) and CIDR ranges (`10.0.0.0/8`, `fd00::/8`); empty for none.
impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("`{item}` is not an IP address or CIDR range (such as 10.0.0.0/8)")
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

/// The client's address, for the per-address limit: the connection's, or, when that is a trusted
/// proxy's, the nearest address in `X-Forwarded-For` that is not a trusted proxy's (each proxy appends
/// the address it was connected from, so the entries left of that one are the client's own claims).
/// Absent when the app is driven without a socket, as in tests.
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip());
        Ok(ClientAddress(peer.map(|peer| {
            client_address(peer, &parts.headers, &s.config.trusted_proxies)
        })))
    }
}

fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client;
    }
    // Several header lines are one list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.into_iter().rev() {
        // Not an address: nothing further left can be believed; the last proxy seen stands for the client.
        let Ok(address) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = address.to_canonical();
        if !trusted.contains(client) {
            break;
        }
    }
    client
}

#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<Key, Window>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

impl LoginLimiter {
    /// `Some(seconds)` to wait when `email` or `address` has used up its failures.
    pub fn check(&self, email: &str, address: Option<IpAddr>, now: Instant) -> Option<u64> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys(email, address)
            .filter_map(|(key, limit)| {
                let w = failures.get(&key)?;
                let left = WINDOW
                    .checked_sub(now.duration_since(w.started))
                    .filter(|left| !left.is_zero())?;
                (w.count >= limit).then(|| left.as_secs() + 1)
            })
            .max()
    }

    /// Count a failed attempt against `email` and `address`.
    pub fn failed(&self, email: &str, address: Option<IpAddr>, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= SWEEP_AT {
            failures.retain(|_, w| now.duration_since(w.started) < WINDOW);
        }
        for (key, _) in keys(email, address) {
            let w = failures.entry(key).or_insert(Window {
                started: now,
                count: 0,
            });
            if now.duration_since(w.started) >= WINDOW {
                *w = Window {
                    started: now,
                    count: 0,
                };
            }
            w.count += 1;
        }
    }

    /// A successful login clears its account's failures (not its address's: one right password does not
    /// vouch for the other accounts tried from there).
    pub fn succeeded(&self, email: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&account(email));
    }
}

fn account(email: &str) -> Key {
    Key::Account(email.trim().to_lowercase())
}

fn keys(email: &str, address: Option<IpAddr>) -> impl Iterator<Item = (Key, u32)> {
    let account = (account(email), PER_ACCOUNT);
    let address = address.map(|a| (Key::Address(a), PER_ADDRESS));
    std::iter::once(account).chain(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", line.parse().unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Only a trusted proxy's `X-Forwarded-For` is read, from the right: the first address that is not a
    /// trusted proxy's is the client, and whatever the client wrote left of it is ignored.
    #[test]
    fn the_client_is_the_nearest_untrusted_hop() {
        let trusted: TrustedProxies = "10.0.0.0/8, 192.168.1.5 ,fd00::/8".parse().unwrap();
        let via =
            |peer: &str, lines: &[&str]| client_address(ip(peer), &forwarded(lines), &trusted);
        // From an untrusted peer the header is a claim like any other.
        assert_eq!(via("203.0.113.9", &["198.51.100.1"]), ip("203.0.113.9"));
        // The ingress (10.1.2.3) appended the client; the spoofed entry left of it is skipped.
        assert_eq!(
            via("10.1.2.3", &["1.2.3.4, 198.51.100.7"]),
            ip("198.51.100.7")
        );
        // Two proxies: a load balancer (192.168.1.5) in front of the ingress; two header lines are one list.
        assert_eq!(
            via("10.1.2.3", &["1.2.3.4, 198.51.100.7", "192.168.1.5"]),
            ip("198.51.100.7")
        );
        // IPv6, and an IPv4 client seen through an IPv4-mapped IPv6 socket address.
        assert_eq!(via("fd00::1", &["2001:db8::42"]), ip("2001:db8::42"));
        assert_eq!(
            via("::ffff:10.1.2.3", &["198.51.100.7"]),
            ip("198.51.100.7")
        );
        // No header, only proxies, or an entry that is no address: the nearest address believed.
        assert_eq!(via("10.1.2.3", &[]), ip("10.1.2.3"));
        assert_eq!(via("10.1.2.3", &["10.9.9.9"]), ip("10.9.9.9"));
        assert_eq!(
            via("10.1.2.3", &["198.51.100.7, junk, 10.9.9.9"]),
            ip("10.9.9.9")
        );
        // Nothing trusted: the connection's address, always.
        let none = TrustedProxies::default();
        assert_eq!(
            client_address(ip("10.1.2.3"), &forwarded(&["198.51.100.7"]), &none),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn trusted_proxies_parse_addresses_and_ranges_and_name_a_bad_one() {
        assert_eq!(
            "".parse::<TrustedProxies>().unwrap(),
            TrustedProxies::default()
        );
        let parsed: TrustedProxies = "127.0.0.1,::1, 10.0.0.0/8".parse().unwrap();
        assert!(
            parsed.contains(ip("127.0.0.1"))
                && parsed.contains(ip("::1"))
                && parsed.contains(ip("10.200.0.1"))
        );
        assert!(!parsed.contains(ip("127.0.0.2")) && !parsed.contains(ip("11.0.0.1")));
        for bad in ["10.0.0.0/33", "ingress", "10.0.0.0/8,10.0.0"] {
            let err = bad.parse::<TrustedProxies>().unwrap_err();
            assert!(
                err.contains("is not an IP address or CIDR range"),
                "{bad}: {err}"
            );
        }
    }

    /// The fifth failure for an account blocks it (whatever the address) until the window has passed
    /// since its first; an address is blocked after its twentieth, across accounts; success clears the
    /// account only.
    #[test]
    fn limits_per_account_and_address() {
        let limiter = LoginLimiter::default();
        let start = Instant::now();
        let home: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..PER_ACCOUNT {
            assert_eq!(limiter.check("ada@example.com", Some(home), start), None);
            limiter.failed("Ada@example.com", Some(home), start);
        }
        let later = start + Duration::from_secs(60);
        let wait = limiter
            .check("ada@example.com", Some(other), later)
            .unwrap();
        assert_eq!(wait, WINDOW.as_secs() - 60 + 1);
        assert_eq!(limiter.check("ada@example.com", None, start + WINDOW), None);
        limiter.succeeded("ADA@example.com");
        assert_eq!(limiter.check("ada@example.com", Some(other), later), None);

        for i in 0..PER_ADDRESS - PER_ACCOUNT {
            limiter.failed(&format!("user{i}@example.com"), Some(home), start);
        }
        assert!(
            limiter
                .check("new@example.com", Some(home), later)
                .is_some()
        );
        assert_eq!(limiter.check("new@example.com", Some(other), later), None);
    }
}
