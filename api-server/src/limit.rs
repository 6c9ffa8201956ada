//! Failed-login limits: per account and per client address, so a password cannot be guessed quickly
//! against one account or sprayed across many from one address. Counted in the database
//! (`Store::login_failures`), so every replica shares one budget.
//!
//! Behind a proxy the connection's address is the proxy's, shared by every client: counted as is, 20
//! typos anywhere would lock everyone out. So a request from a trusted proxy (`TODO_TRUSTED_PROXIES`)
//! is counted against the client its `X-Forwarded-For` names.

use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;
use jiff::{SignedDuration, Timestamp};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use todo_core::domain::task::validate_email;
use todo_core::store::FailureWindow;
use todo_core::{Store, StoreResult};

/// Failed logins one account absorbs in [`WINDOW`] before further attempts wait.
pub const PER_ACCOUNT: u32 = 5;
/// Failed logins one client address makes in [`WINDOW`] before further attempts wait.
pub const PER_ADDRESS: u32 = 20;
/// How long failures count.
pub const WINDOW: SignedDuration = SignedDuration::from_secs(15 * 60);

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
        let Some(address) = hop_address(hop.trim()) else {
            break;
        };
        client = address.to_canonical();
        if !trusted.contains(client) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` entry's address: bare, or with a port as some load balancers write it (Azure's
/// Application Gateway: `203.0.113.7:51234`, `[2001:db8::7]:51234`).
fn hop_address(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// The keys an attempt counts against, with their limits: the account, when the email could be one
/// (anything else matches no account, and would only add rows), and the client's address.
fn keys(email: &str, address: Option<IpAddr>) -> Vec<(String, u32)> {
    let account = account(email).map(|key| (key, PER_ACCOUNT));
    let address = address.map(|a| (format!("address:{}", address_key(a)), PER_ADDRESS));
    account.into_iter().chain(address).collect()
}

/// An IPv4 address, or an IPv6 address's /64: one IPv6 client usually holds a whole /64 and could
/// otherwise take a fresh address for every twenty guesses.
fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !(u128::MAX >> 64);
            format!("{}/64", std::net::Ipv6Addr::from(prefix))
        }
    }
}

fn account(email: &str) -> Option<String> {
    validate_email(email).ok().map(|e| format!("account:{e}"))
}

/// The start of the oldest window still running at `now`.
fn since(now: Timestamp) -> Timestamp {
    now - WINDOW
}

/// `Some(seconds)` to wait when `email` or `address` has used up its failures.
pub async fn check(
    store: &Store,
    email: &str,
    address: Option<IpAddr>,
    now: Timestamp,
) -> StoreResult<Option<u64>> {
    let keys = keys(email, address);
    let names: Vec<&str> = keys.iter().map(|(key, _)| key.as_str()).collect();
    let windows = store.login_failures(&names, since(now)).await?;
    Ok(wait(&keys, &windows, now))
}

/// The longest wait any used-up window imposes: until it has run its [`WINDOW`] (rounded up a second).
fn wait(keys: &[(String, u32)], windows: &[FailureWindow], now: Timestamp) -> Option<u64> {
    windows
        .iter()
        .filter_map(|w| {
            let (_, limit) = keys.iter().find(|(key, _)| *key == w.key)?;
            let left = WINDOW - now.duration_since(w.started);
            let secs = u64::try_from(left.as_secs()).ok()?;
            (w.failures >= *limit && left.is_positive()).then_some(secs + 1)
        })
        .max()
}

/// Count a failed attempt against `email` and `address`.
pub async fn failed(
    store: &Store,
    email: &str,
    address: Option<IpAddr>,
    now: Timestamp,
) -> StoreResult<()> {
    let keys = keys(email, address);
    let names: Vec<&str> = keys.iter().map(|(key, _)| key.as_str()).collect();
    store.record_login_failure(&names, now, since(now)).await
}

/// A successful login clears its account's failures (not its address's: one right password does not
/// vouch for the other accounts tried from there).
pub async fn succeeded(store: &Store, email: &str) -> StoreResult<()> {
    match account(email) {
        Some(key) => store.clear_login_failures(&key).await,
        None => Ok(()),
    }
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
        // Entries with ports, as Azure's Application Gateway writes them.
        assert_eq!(via("10.1.2.3", &["198.51.100.7:51234"]), ip("198.51.100.7"));
        assert_eq!(
            via("10.1.2.3", &["[2001:db8::42]:443, 10.9.9.9:80"]),
            ip("2001:db8::42")
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

    fn window(key: &str, started: Timestamp, failures: u32) -> FailureWindow {
        FailureWindow {
            key: key.into(),
            started,
            failures,
        }
    }

    /// An attempt counts against the account only when its email could be one, and against the address
    /// when there is one.
    #[test]
    fn keys_are_the_account_and_the_address() {
        let home = Some(ip("192.0.2.1"));
        assert_eq!(
            keys(" Ada@Example.com ", home),
            [
                ("account:ada@example.com".to_owned(), PER_ACCOUNT),
                ("address:192.0.2.1".to_owned(), PER_ADDRESS)
            ]
        );
        assert_eq!(
            keys("not an email", home),
            [("address:192.0.2.1".to_owned(), PER_ADDRESS)]
        );
        // One IPv6 /64 is one address.
        for v6 in ["2001:db8:1:2::7", "2001:db8:1:2:ffff::1"] {
            assert_eq!(
                keys("", Some(ip(v6))),
                [("address:2001:db8:1:2::/64".to_owned(), PER_ADDRESS)]
            );
        }
        assert_eq!(
            keys("ada@example.com", None),
            [("account:ada@example.com".to_owned(), PER_ACCOUNT)]
        );
    }

    /// A window blocks once it holds its key's limit, until it has run fifteen minutes; the longest
    /// wait of the two keys is the answer.
    #[test]
    fn a_full_window_blocks_until_it_has_run() {
        let start: Timestamp = "2026-03-10T12:00:00Z".parse().unwrap();
        let later = start + SignedDuration::from_mins(1);
        let ada = keys("ada@example.com", Some(ip("192.0.2.1")));
        let account = window("account:ada@example.com", start, PER_ACCOUNT);
        assert_eq!(
            wait(&ada, std::slice::from_ref(&account), later),
            Some(14 * 60 + 1)
        );
        let almost = window("account:ada@example.com", start, PER_ACCOUNT - 1);
        assert_eq!(wait(&ada, &[almost], later), None);
        assert_eq!(
            wait(&ada, std::slice::from_ref(&account), start + WINDOW),
            None
        );
        let address = window("address:192.0.2.1", later, PER_ADDRESS);
        assert_eq!(
            wait(&ada, &[account, address.clone()], later),
            Some(15 * 60 + 1)
        );
        let other = keys("bob@example.com", Some(ip("192.0.2.2")));
        assert_eq!(
            wait(&other, &[address], later),
            None,
            "another key's window"
        );
    }
}
