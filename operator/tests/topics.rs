//! The Kafka admin-protocol provisioner against a real broker: tansu (crates.io, in-memory
//! storage) started on 127.0.0.1 by this harness. Partition growth is not served by tansu and is
//! covered by `topics::diff` unit tests.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use todo_operator::build::TopicPlan;
use todo_operator::crd::TopicState;
use todo_operator::topics::{KafkaAdmin, TopicAdmin, TopicError};

/// A tansu broker on a free local port, killed when dropped.
struct Broker {
    child: Child,
    address: String,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tansu_binary(test: &str) -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let candidates = std::env::var_os("TANSU")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("tansu")])
        .chain(cargo_home.map(|home| home.join("bin/tansu")));
    for candidate in candidates {
        if Command::new(&candidate)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            eprintln!("{test}: using tansu at {}", candidate.display());
            return Some(candidate);
        }
    }
    common::unavailable(
        test,
        "tansu not found ($TANSU, PATH, ~/.cargo/bin); `cargo install tansu --locked --features dynostore`",
    )
}

async fn start_broker(test: &str) -> Option<Broker> {
    let tansu = tansu_binary(test)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(tansu)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
            "--storage-engine",
            "memory://tansu/",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tansu starts");
    let broker = Broker {
        child,
        address: format!("127.0.0.1:{port}"),
    };
    // Wait until the broker answers a metadata request (readiness, not a timing assumption): tansu
    // accepts connections before it serves them and then resets the first requests. At most 30 s.
    let admin = KafkaAdmin::default();
    let brokers = vec![broker.address.clone()];
    for _ in 0..300 {
        if admin.describe(&brokers, &[], &[]).await.is_ok() {
            return Some(broker);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("tansu did not answer on {} within 30 s", broker.address);
}

fn plan(name: &str, retention_ms: &str) -> TopicPlan {
    TopicPlan {
        name: name.into(),
        partitions: 3,
        replication_factor: 1,
        configs: BTreeMap::from([
            ("cleanup.policy".to_owned(), "delete".to_owned()),
            ("retention.ms".to_owned(), retention_ms.to_owned()),
        ]),
    }
}

fn keys() -> Vec<String> {
    vec!["cleanup.policy".into(), "retention.ms".into()]
}

/// Missing topics are created with their partitions and configs; a second run finds them as
/// desired and changes nothing.
#[tokio::test]
async fn creates_missing_topics_with_configs_idempotently() {
    let Some(broker) = start_broker("creates_missing_topics_with_configs_idempotently").await
    else {
        return;
    };
    let admin = KafkaAdmin::default();
    let brokers = vec![broker.address.clone()];
    let plans = vec![
        plan("ns.todo.task-events", "604800000"),
        plan("ns.todo.task-events-dlq", "2419200000"),
    ];

    let statuses = admin
        .ensure(&brokers, &plans)
        .await
        .expect("ensure succeeds");
    assert!(
        statuses
            .iter()
            .all(|s| s.state == TopicState::Ready && s.partitions == Some(3)),
        "{statuses:?}"
    );
    let names: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();
    let existing = admin
        .describe(&brokers, &names, &keys())
        .await
        .expect("describe");
    assert_eq!(existing.len(), 2);
    assert_eq!(existing["ns.todo.task-events"].partitions, 3);
    assert_eq!(
        existing["ns.todo.task-events"]
            .configs
            .get("retention.ms")
            .map(String::as_str),
        Some("604800000")
    );
    assert_eq!(
        existing["ns.todo.task-events-dlq"]
            .configs
            .get("retention.ms")
            .map(String::as_str),
        Some("2419200000")
    );

    let again = admin
        .ensure(&brokers, &plans)
        .await
        .expect("second ensure succeeds");
    assert_eq!(again, statuses);
    assert!(
        todo_operator::topics::diff(
            &plans,
            &admin.describe(&brokers, &names, &keys()).await.unwrap()
        )
        .is_empty()
    );
}

/// A config changed behind the operator's back is set back to the plan.
#[tokio::test]
async fn resets_drifted_configs() {
    let Some(broker) = start_broker("resets_drifted_configs").await else {
        return;
    };
    let admin = KafkaAdmin::default();
    let brokers = vec![broker.address.clone()];
    admin
        .ensure(&brokers, &[plan("ns.todo.reminders", "1000")])
        .await
        .expect("create");
    admin
        .ensure(&brokers, &[plan("ns.todo.reminders", "2000")])
        .await
        .expect("reconfigure");
    let existing = admin
        .describe(&brokers, &["ns.todo.reminders".into()], &keys())
        .await
        .unwrap();
    assert_eq!(
        existing["ns.todo.reminders"]
            .configs
            .get("retention.ms")
            .map(String::as_str),
        Some("2000")
    );
}

/// Deletion removes the topics; deleting already-deleted topics is not an error.
#[tokio::test]
async fn deletes_topics() {
    let Some(broker) = start_broker("deletes_topics").await else {
        return;
    };
    let admin = KafkaAdmin::default();
    let brokers = vec![broker.address.clone()];
    let names = vec![
        "ns.todo.task-updates".to_owned(),
        "ns.todo.task-updates-dlq".to_owned(),
    ];
    let plans: Vec<TopicPlan> = names.iter().map(|n| plan(n, "1000")).collect();
    admin.ensure(&brokers, &plans).await.expect("create");
    admin.delete(&brokers, &names).await.expect("delete");
    assert!(
        admin
            .describe(&brokers, &names, &keys())
            .await
            .unwrap()
            .is_empty()
    );
    admin
        .delete(&brokers, &names)
        .await
        .expect("deleting missing topics is fine");
}

/// Unreachable brokers are a typed error naming them (reported as TopicsReady=False).
#[tokio::test]
async fn unreachable_brokers_are_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let brokers = vec![format!("127.0.0.1:{port}")];
    let error = KafkaAdmin::new(Duration::from_secs(2))
        .ensure(&brokers, &[plan("t", "1")])
        .await
        .unwrap_err();
    assert!(matches!(error, TopicError::Unreachable { .. }), "{error}");
    assert!(error.to_string().contains(&brokers[0]));
}
