//! A platform on external brokers that need SASL over TLS: the real Kafka of `.ci/kafka.sh`, the credentials
//! and CA in Secrets, topics provisioned, grown and deleted by the operator running against the real API
//! server.

use std::collections::BTreeMap;

use serde_json::json;
use todo_operator::crd::{SaslMechanism, TopicState};
use todo_operator::topics::{ExistingTopic, KafkaAdmin};

use super::basic_platform;
use crate::kafka_broker;
use crate::support::{Suite, check, ready, run};

const NAMESPACE: &str = "e2e-kafka";

/// SCRAM-SHA-512 over TLS: Ready with its six topics; more partitions in the spec grow them; deleting the
/// platform (deletionPolicy Delete) deletes them from the broker.
pub fn sasl_tls_topics(suite: &Suite) {
    let Some(broker) = suite.block_on(kafka_broker::shared("external_kafka_sasl_tls")) else {
        return;
    };
    suite.namespace(NAMESPACE);
    let (user, password) = broker.user(SaslMechanism::ScramSha512);
    suite.secret(NAMESPACE, "db", &[("url", "postgres://todo@db:5432/todo")]);
    suite.secret(
        NAMESPACE,
        "kafka",
        &[("username", user), ("password", password)],
    );
    suite.secret(NAMESPACE, "kafka-ca", &[("ca.crt", broker.ca_pem())]);
    let mut platform = basic_platform(NAMESPACE, "todo");
    platform["spec"]["eventing"] = json!({
        "external": {
            "brokers": [broker.sasl_ssl_address()],
            "tls": { "caSecretRef": { "name": "kafka-ca", "key": "ca.crt" } },
            "sasl": { "mechanism": "SCRAM-SHA-512", "secretName": "kafka" },
        },
        "topics": { "provisioner": "KafkaAdmin", "deletionPolicy": "Delete", "partitions": 2 },
    });
    suite.apply(&platform.to_string());
    let ready_platform = suite.block_on(suite.platform_where(NAMESPACE, "todo", "Ready", ready));
    let topics: Vec<String> = ready_platform
        .status
        .as_ref()
        .expect("status")
        .topics
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(
        topics.len(),
        6,
        "three topics and their dead-letter topics: {topics:?}"
    );
    assert!(
        topics.iter().all(|t| t.starts_with("e2e-kafka.todo.")),
        "{topics:?}"
    );
    let cluster = broker.sasl_ssl(SaslMechanism::ScramSha512);
    let admin = KafkaAdmin::default();
    let describe = || -> BTreeMap<String, ExistingTopic> {
        suite
            .block_on(admin.describe(&cluster, &topics, &[]))
            .expect("the broker answers")
    };
    let existing = describe();
    assert_eq!(existing.len(), 6, "{existing:?}");
    assert!(existing.values().all(|t| t.partitions == 2), "{existing:?}");

    suite.patch_platform(
        NAMESPACE,
        &json!({ "spec": { "eventing": { "topics": { "partitions": 4 } } } }),
    );
    let grown =
        suite.block_on(
            suite.platform_where(NAMESPACE, "todo", "Ready with 4 partitions", |p| {
                ready(p)
                    && p.metadata.generation == Some(2)
                    && p.status.as_ref().is_some_and(|s| {
                        s.topics
                            .iter()
                            .all(|t| t.partitions == Some(4) && t.state != TopicState::Failed)
                    })
            }),
        );
    assert_eq!(grown.status.as_ref().expect("status").topics.len(), 6);
    suite.block_on(suite.eventually(
        "4 partitions on the broker",
        crate::support::WAIT,
        || async {
            let existing = admin.describe(&cluster, &topics, &[]).await.ok()?;
            (existing.len() == 6 && existing.values().all(|t| t.partitions == 4)).then_some(())
        },
    ));

    check(
        suite.kubectl().args([
            "delete",
            "todoplatform",
            "todo",
            "-n",
            NAMESPACE,
            "--timeout",
            "90s",
        ]),
        None,
    );
    let gone = run(
        suite
            .kubectl()
            .args(["get", "todoplatform", "todo", "-n", NAMESPACE]),
        None,
    );
    assert!(!gone.status.success(), "the finalizer let the platform go");
    suite.block_on(suite.eventually(
        "the topics deleted from the broker",
        crate::support::WAIT,
        || async {
            let existing = admin.describe(&cluster, &topics, &[]).await.ok()?;
            existing.is_empty().then_some(())
        },
    ));
}
