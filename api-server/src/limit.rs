//! Failed-login limits: per account and per client address, so a password cannot be guessed quickly
//! against one account or sprayed across many from one address. Kept in memory per process: with N
//! replicas behind a balancer an attacker gets up to N times the budget, which still turns a fast guess
//! into a slow one; a shared store would be needed for an exact limit.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
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

/// The client's address, as the connection shows it (absent when the app is driven without a socket, as
/// in tests). Behind a proxy this is the proxy's address: the per-address limit then counts the proxy's
/// clients together, and the per-account limit still holds.
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip()),
        ))
    }
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
        failures.remove(&Key::Account(email.to_lowercase()));
    }
}

fn keys(email: &str, address: Option<IpAddr>) -> impl Iterator<Item = (Key, u32)> {
    let account = (Key::Account(email.trim().to_lowercase()), PER_ACCOUNT);
    let address = address.map(|a| (Key::Address(a), PER_ADDRESS));
    std::iter::once(account).chain(address)
}

#[cfg(test)]
mod tests {
    use super::*;

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
