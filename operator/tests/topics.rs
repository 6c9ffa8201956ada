//! The Kafka admin-protocol provisioner against a real Apache Kafka (single-node KRaft, started
//! once for this binary by `kafka_broker`), on both of its listeners: PLAINTEXT, and SASL_SSL
//! with each SASL mechanism the CRD offers over TLS with a test CA. Each test uses its own topic
//! names, so they share the broker and run in parallel.

use crate::kafka_broker;
use crate::support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use todo_operator::build::TopicPlan;
use todo_operator::crd::{SaslMechanism, TopicState};
use todo_operator::topics::{ExistingTopic, KafkaAdmin, KafkaCluster, TopicAdmin, TopicError};

fn plan(name: &str, partitions: i32, retention_ms: &str) -> TopicPlan {
    TopicPlan {
        name: name.into(),
        partitions,
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

/// Each listener, labelled for topic names and messages: PLAINTEXT, then SASL_SSL with every
/// mechanism.
fn listeners(broker: &kafka_broker::Broker) -> Vec<(&'static str, KafkaCluster)> {
    vec![
        ("plaintext", broker.plaintext()),
        ("plain", broker.sasl_ssl(SaslMechanism::Plain)),
        ("scram256", broker.sasl_ssl(SaslMechanism::ScramSha256)),
        ("scram512", broker.sasl_ssl(SaslMechanism::ScramSha512)),
    ]
}

fn retention(existing: &BTreeMap<String, ExistingTopic>, topic: &str) -> Option<String> {
    existing.get(topic)?.configs.get("retention.ms").cloned()
}

/// What the broker reports for `names` once `settled` holds, or after 15 s (the caller's
/// assertions then say what is wrong). A broker's metadata follows the controller's log, so a
/// read right after a write may not show it yet, as the next reconcile would.
async fn eventually(
    admin: &KafkaAdmin,
    cluster: &KafkaCluster,
    names: &[String],
    settled: impl Fn(&BTreeMap<String, ExistingTopic>) -> bool,
) -> BTreeMap<String, ExistingTopic> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let existing = admin
            .describe(cluster, names, &keys())
            .await
            .expect("describe");
        if settled(&existing) || Instant::now() > deadline {
            return existing;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Missing topics are created with their partitions and configs; a second run finds them as
/// desired and sends no write at all.
#[tokio::test]
async fn creates_missing_topics_with_configs_idempotently() {
    let Some(broker) =
        kafka_broker::shared("creates_missing_topics_with_configs_idempotently").await
    else {
        return;
    };
    for (label, cluster) in listeners(broker) {
        let admin = KafkaAdmin::default();
        let plans = vec![
            plan(&format!("{label}.create.task-events"), 3, "604800000"),
            plan(&format!("{label}.create.task-events-dlq"), 3, "2419200000"),
        ];
        let names: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();

        let statuses = admin
            .ensure(&cluster, &plans)
            .await
            .unwrap_or_else(|e| panic!("{label}: ensure: {e}"));
        assert!(
            statuses
                .iter()
                .all(|s| s.state == TopicState::Ready && s.partitions == Some(3)),
            "{label}: {statuses:?}"
        );
        assert_eq!(admin.writes(), 1, "{label}: one CreateTopics for both");
        let existing = eventually(&admin, &cluster, &names, |e| e.len() == 2).await;
        assert_eq!(existing.len(), 2, "{label}: {existing:?}");
        assert_eq!(existing[&names[0]].partitions, 3);
        assert_eq!(
            retention(&existing, &names[0]).as_deref(),
            Some("604800000")
        );
        assert_eq!(
            retention(&existing, &names[1]).as_deref(),
            Some("2419200000")
        );
        assert_eq!(
            existing[&names[0]]
                .configs
                .get("cleanup.policy")
                .map(String::as_str),
            Some("delete")
        );

        let again = admin.ensure(&cluster, &plans).await.expect("second ensure");
        assert_eq!(again, statuses, "{label}");
        assert_eq!(admin.writes(), 1, "{label}: the second run wrote");
    }
}

/// A plan with more partitions grows the topic through CreatePartitions; a plan with fewer
/// never shrinks it.
#[tokio::test]
async fn grows_partitions_never_shrinks() {
    let Some(broker) = kafka_broker::shared("grows_partitions_never_shrinks").await else {
        return;
    };
    for (label, cluster) in listeners(broker) {
        let admin = KafkaAdmin::default();
        let topic = format!("{label}.grow.reminders");
        let names = [topic.clone()];
        admin
            .ensure(&cluster, &[plan(&topic, 2, "1000")])
            .await
            .expect("create");
        eventually(&admin, &cluster, &names, |e| e.contains_key(&topic)).await;
        let grown = admin
            .ensure(&cluster, &[plan(&topic, 6, "1000")])
            .await
            .unwrap_or_else(|e| panic!("{label}: grow: {e}"));
        assert_eq!(grown[0].state, TopicState::Ready, "{label}: {grown:?}");
        assert_eq!(grown[0].partitions, Some(6));
        let existing = eventually(&admin, &cluster, &names, |e| {
            e.get(&topic).is_some_and(|t| t.partitions == 6)
        })
        .await;
        assert_eq!(existing[&topic].partitions, 6, "{label}");

        let writes = admin.writes();
        let kept = admin
            .ensure(&cluster, &[plan(&topic, 3, "1000")])
            .await
            .expect("smaller plan");
        assert_eq!(kept[0].partitions, Some(6), "{label}: reported as it is");
        assert_eq!(admin.writes(), writes, "{label}: nothing to shrink");
    }
}

/// A config changed behind the operator's back is set back to the plan with
/// IncrementalAlterConfigs, touching only the drifted key.
#[tokio::test]
async fn resets_drifted_configs() {
    let Some(broker) = kafka_broker::shared("resets_drifted_configs").await else {
        return;
    };
    for (label, cluster) in listeners(broker) {
        let admin = KafkaAdmin::default();
        let topic = format!("{label}.drift.task-updates");
        let names = [topic.clone()];
        admin
            .ensure(&cluster, &[plan(&topic, 1, "1000")])
            .await
            .expect("create");
        eventually(&admin, &cluster, &names, |e| e.contains_key(&topic)).await;
        // Someone else changes retention.
        admin
            .ensure(&cluster, &[plan(&topic, 1, "5000")])
            .await
            .expect("drift");
        eventually(&admin, &cluster, &names, |e| {
            retention(e, &topic).as_deref() == Some("5000")
        })
        .await;
        let writes = admin.writes();
        let statuses = admin
            .ensure(&cluster, &[plan(&topic, 1, "1000")])
            .await
            .unwrap_or_else(|e| panic!("{label}: reconfigure: {e}"));
        assert_eq!(
            statuses[0].state,
            TopicState::Ready,
            "{label}: {statuses:?}"
        );
        assert_eq!(
            admin.writes(),
            writes + 1,
            "{label}: one IncrementalAlterConfigs"
        );
        let existing = eventually(&admin, &cluster, &names, |e| {
            retention(e, &topic).as_deref() == Some("1000")
        })
        .await;
        assert_eq!(
            retention(&existing, &topic).as_deref(),
            Some("1000"),
            "{label}"
        );
        assert_eq!(
            existing[&topic]
                .configs
                .get("cleanup.policy")
                .map(String::as_str),
            Some("delete"),
            "{label}: the other key is untouched"
        );
    }
}

/// Deletion removes the topics; deleting already-deleted topics is not an error.
#[tokio::test]
async fn deletes_topics() {
    let Some(broker) = kafka_broker::shared("deletes_topics").await else {
        return;
    };
    for (label, cluster) in listeners(broker) {
        let admin = KafkaAdmin::default();
        let names = vec![
            format!("{label}.delete.audit"),
            format!("{label}.delete.audit-dlq"),
        ];
        let plans: Vec<TopicPlan> = names.iter().map(|n| plan(n, 1, "1000")).collect();
        admin.ensure(&cluster, &plans).await.expect("create");
        eventually(&admin, &cluster, &names, |e| e.len() == 2).await;
        admin
            .delete(&cluster, &names)
            .await
            .unwrap_or_else(|e| panic!("{label}: delete: {e}"));
        let left = eventually(&admin, &cluster, &names, BTreeMap::is_empty).await;
        assert!(left.is_empty(), "{label}: {left:?}");
        admin
            .delete(&cluster, &names)
            .await
            .expect("deleting missing topics is fine");
    }
}

/// A wrong password, for each mechanism, is an authentication failure naming the broker and the
/// mechanism, reported as AuthenticationFailed and never retried as an outage.
#[tokio::test]
async fn wrong_password_is_an_authentication_failure() {
    let Some(broker) = kafka_broker::shared("wrong_password_is_an_authentication_failure").await
    else {
        return;
    };
    let admin = KafkaAdmin::default();
    for (mechanism, user) in [
        (SaslMechanism::Plain, "plain-user"),
        (SaslMechanism::ScramSha256, "scram256-user"),
        (SaslMechanism::ScramSha512, "scram512-user"),
        // An unknown user fails the same way (SCRAM must not tell them apart).
        (SaslMechanism::ScramSha512, "nobody"),
    ] {
        let cluster = broker.sasl_ssl_as(
            mechanism,
            user,
            "wrong-password",
            Some(broker.ca_pem().to_owned()),
        );
        let error = admin
            .ensure(&cluster, &[plan("never.created", 1, "1000")])
            .await
            .unwrap_err();
        assert!(
            matches!(error, TopicError::Authentication { .. }),
            "{mechanism:?}: {error}"
        );
        assert_eq!(error.reason(), "AuthenticationFailed");
        assert!(error.needs_intervention());
        let message = error.to_string();
        assert!(message.contains(broker.sasl_ssl_address()), "{message}");
        assert!(!message.contains("wrong-password"), "{message}");
    }
    assert_eq!(admin.writes(), 0);
}

/// A broker certificate from a CA we do not trust fails the TLS handshake, reported as
/// TlsFailed naming the broker; so does TLS against a plaintext listener.
#[tokio::test]
async fn untrusted_certificate_is_a_tls_failure() {
    let Some(broker) = kafka_broker::shared("untrusted_certificate_is_a_tls_failure").await else {
        return;
    };
    let admin = KafkaAdmin::default();
    let wrong_ca = broker.sasl_ssl_as(
        SaslMechanism::ScramSha512,
        "scram512-user",
        "scram512-secret",
        Some(broker.other_ca_pem().to_owned()),
    );
    // The system roots do not include the test CA either.
    let system_roots = broker.sasl_ssl_as(
        SaslMechanism::ScramSha512,
        "scram512-user",
        "scram512-secret",
        None,
    );
    for cluster in [wrong_ca, system_roots] {
        let error = admin
            .ensure(&cluster, &[plan("never.created", 1, "1000")])
            .await
            .unwrap_err();
        assert!(matches!(error, TopicError::Tls { .. }), "{error}");
        assert_eq!(error.reason(), "TlsFailed");
        let message = error.to_string();
        assert!(message.contains(broker.sasl_ssl_address()), "{message}");
        assert!(message.contains("certificate"), "{message}");
    }

    let mut tls_to_plaintext = broker.plaintext();
    tls_to_plaintext.tls = Some(todo_operator::topics::KafkaTls {
        ca_pem: Some(broker.ca_pem().to_owned()),
    });
    let error = admin
        .describe(&tls_to_plaintext, &[], &[])
        .await
        .unwrap_err();
    assert_eq!(error.reason(), "TlsFailed", "{error}");
}

/// Without SASL, the SASL_SSL listener lets nothing through: the client fails with an error,
/// not a hang.
#[tokio::test]
async fn sasl_listener_refuses_unauthenticated_requests() {
    let Some(broker) = kafka_broker::shared("sasl_listener_refuses_unauthenticated_requests").await
    else {
        return;
    };
    let mut cluster = broker.sasl_ssl(SaslMechanism::ScramSha512);
    cluster.sasl = None;
    let error = KafkaAdmin::new(Duration::from_secs(5))
        .describe(&cluster, &[], &[])
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains(broker.sasl_ssl_address()),
        "{error}"
    );
}

/// Unreachable brokers are a typed error naming them (reported as TopicsReady=False).
#[tokio::test]
async fn unreachable_brokers_are_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cluster = KafkaCluster::plaintext(vec![format!("127.0.0.1:{port}")]);
    let error = KafkaAdmin::new(Duration::from_secs(2))
        .ensure(&cluster, &[plan("t", 1, "1")])
        .await
        .unwrap_err();
    assert!(matches!(error, TopicError::Unreachable { .. }), "{error}");
    assert_eq!(error.reason(), "BrokersUnavailable");
    assert!(!error.needs_intervention());
    assert!(error.to_string().contains(&cluster.brokers[0]));
}

mod controller_with_kafka {
    //! The reconciler (against the in-memory API server) provisioning topics on the real broker
    //! through its SASL_SSL listener, with the credentials and CA read from Secrets.

    use std::sync::Arc;

    use base64::Engine;
    use kube::core::DeserializeGuard;
    use serde_json::{Value, json};
    use todo_operator::controller::{self, Context};
    use todo_operator::crd::TodoPlatform;
    use todo_operator::metrics::Metrics;

    use super::support::fake_apiserver::FakeApiServer;
    use super::*;

    const PLATFORM: &str = "/apis/todoplatform.dev/v1alpha1/namespaces/ctrl/todoplatforms/todo";
    const USER_SECRET: &str = "/api/v1/namespaces/ctrl/secrets/kafka-user";

    fn secret(name: &str, data: &[(&str, &str)]) -> Value {
        let encode = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
        let data: serde_json::Map<String, Value> = data
            .iter()
            .map(|(k, v)| ((*k).to_owned(), encode(v).into()))
            .collect();
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": { "name": name, "namespace": "ctrl" },
            "data": data,
        })
    }

    fn platform(server: &FakeApiServer) -> TodoPlatform {
        serde_json::from_value(server.get(PLATFORM).expect("stored")).expect("parses")
    }

    async fn reconcile(server: &FakeApiServer, ctx: &Arc<Context>) {
        let guard = Arc::new(DeserializeGuard(Ok(platform(server))));
        controller::reconcile(guard, ctx.clone())
            .await
            .expect("reconcile reports topic failures in status, not as an error");
    }

    fn topics_ready(server: &FakeApiServer) -> (String, String, String) {
        let condition = platform(server)
            .status
            .expect("status written")
            .conditions
            .into_iter()
            .find(|c| c.type_ == "TopicsReady")
            .expect("TopicsReady condition");
        (condition.status, condition.reason, condition.message)
    }

    /// A wrong password is TopicsReady=False/AuthenticationFailed naming the broker; the right
    /// one provisions the topics; and on deletion with a wrong password again the finalizer
    /// lets go and the topics are kept (the documented choice: never a stuck deletion).
    #[tokio::test]
    async fn credentials_come_from_secrets_and_failures_are_conditions() {
        let Some(broker) =
            kafka_broker::shared("credentials_come_from_secrets_and_failures_are_conditions").await
        else {
            return;
        };
        let (client, server) = FakeApiServer::start();
        server.serve_dapr();
        server.insert(
            PLATFORM,
            json!({
                "apiVersion": "todoplatform.dev/v1alpha1",
                "kind": "TodoPlatform",
                "metadata": { "name": "todo", "namespace": "ctrl", "uid": "ctrl-uid", "generation": 1 },
                "spec": {
                    "database": { "managed": {} },
                    "eventing": {
                        "external": {
                            "brokers": [broker.sasl_ssl_address()],
                            "tls": { "caSecretRef": { "name": "kafka-ca", "key": "ca.crt" } },
                            "sasl": { "mechanism": "SCRAM-SHA-512", "secretName": "kafka-user" },
                        },
                        "topics": { "deletionPolicy": "Delete" },
                    },
                },
            }),
        );
        server.insert(
            "/api/v1/namespaces/ctrl/secrets/kafka-ca",
            secret("kafka-ca", &[("ca.crt", broker.ca_pem())]),
        );
        server.insert(
            USER_SECRET,
            secret(
                "kafka-user",
                &[("username", "scram512-user"), ("password", "wrong")],
            ),
        );
        let ctx = Arc::new(Context::new(
            client,
            Arc::new(KafkaAdmin::default()),
            Arc::new(Metrics::default()),
            None,
        ));

        // The first reconcile adds the finalizer; the second provisions.
        reconcile(&server, &ctx).await;
        reconcile(&server, &ctx).await;
        let (status, reason, message) = topics_ready(&server);
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("False", "AuthenticationFailed")
        );
        assert!(message.contains(broker.sasl_ssl_address()), "{message}");
        assert!(message.contains("SCRAM-SHA-512"), "{message}");

        server.insert(
            USER_SECRET,
            secret(
                "kafka-user",
                &[
                    ("username", "scram512-user"),
                    ("password", "scram512-secret"),
                ],
            ),
        );
        reconcile(&server, &ctx).await;
        let (status, reason, message) = topics_ready(&server);
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("True", "Provisioned"),
            "{message}"
        );
        let names: Vec<String> = platform(&server)
            .status
            .unwrap()
            .topics
            .iter()
            .map(|t| t.name.clone())
            .collect();
        assert_eq!(names.len(), 6, "{names:?}");
        let cluster = broker.sasl_ssl(SaslMechanism::ScramSha512);
        let admin = KafkaAdmin::default();
        let existing = eventually(&admin, &cluster, &names, |e| e.len() == 6).await;
        assert_eq!(existing.len(), 6, "{existing:?}");

        server.insert(
            USER_SECRET,
            secret(
                "kafka-user",
                &[
                    ("username", "scram512-user"),
                    ("password", "rotated-wrongly"),
                ],
            ),
        );
        let mut stored = server.get(PLATFORM).unwrap();
        stored["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z".into();
        server.insert(PLATFORM, stored);
        reconcile(&server, &ctx).await;
        assert_eq!(platform(&server).metadata.finalizers, Some(vec![]));
        let kept = admin.describe(&cluster, &names, &keys()).await.unwrap();
        assert_eq!(kept.len(), 6, "the topics are kept, not half-deleted");
        admin.delete(&cluster, &names).await.expect("clean up");
    }
}
