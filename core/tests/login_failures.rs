//! Failed logins counted in the database, so every API replica shares one budget; on both backends.

use jiff::{SignedDuration, Timestamp};
use todo_core::store::FailureWindow;
use todo_core::store_test;

fn at(minute: i64) -> Timestamp {
    "2026-03-10T12:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minute)
}

/// The window a failure at minute `now` counts in, for windows of 15 minutes.
fn since(now: i64) -> Timestamp {
    at(now - 15)
}

fn window(key: &str, started: i64, failures: u32) -> FailureWindow {
    FailureWindow {
        key: key.into(),
        started: at(started),
        failures,
    }
}

store_test!(
    /// Failures add up per key within a window and start a new one once it has expired; keys are
    /// independent; clearing one forgets it; expired rows are deleted as failures are recorded.
    failures_count_per_key_and_window, |store| {
    let ada = "account:ada@example.com";
    let home = "address:192.0.2.1";
    for minute in [0, 1, 2] {
        store.record_login_failure(&[ada, home], at(minute), since(minute)).await.unwrap();
    }
    store.record_login_failure(&[home], at(3), since(3)).await.unwrap();
    assert_eq!(
        store.login_failures(&[ada, home, "address:192.0.2.2"], since(4)).await.unwrap(),
        [window(ada, 0, 3), window(home, 0, 4)]
    );
    // Fifteen minutes after its start the window has expired: it is not read, and the next failure
    // starts a new one.
    assert_eq!(store.login_failures(&[ada], since(15)).await.unwrap(), []);
    store.record_login_failure(&[ada], at(16), since(16)).await.unwrap();
    assert_eq!(store.login_failures(&[ada], since(16)).await.unwrap(), [window(ada, 16, 1)]);
    // That failure also deleted the expired window of the address, which no read would return anyway.
    assert_eq!(store.login_failures(&[home], at(-100)).await.unwrap(), []);

    store.clear_login_failures(ada).await.unwrap();
    assert_eq!(store.login_failures(&[ada], since(17)).await.unwrap(), []);
});

store_test!(
    /// Failures recorded at the same time from several connections (as by several replicas) all count.
    concurrent_failures_all_count, |store| {
    let key = "account:bob@example.com";
    let tries: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.record_login_failure(&[key], at(0), since(0)).await })
        })
        .collect();
    for attempt in tries {
        attempt.await.unwrap().unwrap();
    }
    assert_eq!(store.login_failures(&[key], since(1)).await.unwrap(), [window(key, 0, 8)]);
});
