//! Deleting platforms and their namespaces.

use std::time::Duration;

use serde_json::json;

use super::basic_platform;
use crate::support::{Suite, check, ready, run};

async fn kinds_left(suite: &Suite, namespace: &str, instance: &str) -> Vec<String> {
    suite
        .children(namespace, instance)
        .await
        .into_iter()
        .map(|c| {
            format!(
                "{}/{}",
                c.types.map(|t| t.kind).unwrap_or_default(),
                c.metadata.name.unwrap_or_default()
            )
        })
        .collect()
}

/// Children go with the platform through kube-controller-manager's garbage collector; Redpanda Topic
/// resources (and so the topics) stay with `deletionPolicy: Retain` and go with `Delete`.
pub fn children_and_topic_policy(suite: &Suite) {
    let namespace = "e2e-delete";
    suite.namespace(namespace);
    suite.secret(namespace, "db", &[("url", "postgres://todo@db:5432/todo")]);
    for (name, policy) in [("keep", "Retain"), ("drop", "Delete")] {
        let mut platform = basic_platform(namespace, name);
        platform["spec"]["eventing"]["topics"] = json!({
            "provisioner": "RedpandaTopic",
            "redpandaClusterRef": "redpanda",
            "deletionPolicy": policy,
        });
        suite.apply(&platform.to_string());
    }
    for name in ["keep", "drop"] {
        suite.block_on(suite.platform_where(namespace, name, "Ready", ready));
    }
    let topics = |instance: &'static str| async move {
        kinds_left(suite, namespace, instance)
            .await
            .into_iter()
            .filter(|k| k.starts_with("Topic/"))
            .collect::<Vec<String>>()
    };
    assert_eq!(
        suite.block_on(topics("keep")).len(),
        6,
        "three topics and their dead-letter topics"
    );
    assert_eq!(suite.block_on(topics("drop")).len(), 6);

    for name in ["keep", "drop"] {
        check(
            suite.kubectl().args([
                "delete",
                "todoplatform",
                name,
                "-n",
                namespace,
                "--timeout",
                "60s",
            ]),
            None,
        );
    }
    for name in ["keep", "drop"] {
        suite.block_on(suite.eventually(
            &format!("{name}'s children collected"),
            crate::support::WAIT,
            || async {
                let left: Vec<String> = kinds_left(suite, namespace, name)
                    .await
                    .into_iter()
                    .filter(|k| !k.starts_with("Topic/"))
                    .collect();
                left.is_empty().then_some(())
            },
        ));
    }
    suite.block_on(suite.eventually(
        "the Delete platform's Topics collected",
        crate::support::WAIT,
        || async { topics("drop").await.is_empty().then_some(()) },
    ));
    assert_eq!(
        suite.block_on(topics("keep")).len(),
        6,
        "Retain keeps the Topic resources"
    );
}

/// A platform whose topics are to be deleted with it, but whose brokers cannot be reached: deleting its
/// namespace still finishes, the operator gives up on the topics and says so.
pub fn namespace_deletion(suite: &Suite) {
    let namespace = "e2e-nsdelete";
    suite.namespace(namespace);
    suite.secret(namespace, "db", &[("url", "postgres://todo@db:5432/todo")]);
    let mut platform = basic_platform(namespace, "todo");
    platform["spec"]["eventing"] = json!({
        "external": { "brokers": ["127.0.0.1:1"] },
        "topics": { "provisioner": "KafkaAdmin", "deletionPolicy": "Delete" },
    });
    suite.apply(&platform.to_string());
    suite.block_on(
        suite.eventually("the topics finalizer", crate::support::WAIT, || async {
            let platform = suite.get_json("todoplatform", namespace, "todo")?;
            platform["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
                .then_some(())
        }),
    );
    check(
        suite
            .kubectl()
            .args(["delete", "namespace", namespace, "--wait=false"]),
        None,
    );
    suite.block_on(
        // The operator retries unreachable brokers for 90 s (TOPIC_CLEANUP_PATIENCE), with backoff.
        suite.eventually("the namespace gone", Duration::from_secs(240), || async {
            let output = run(suite.kubectl().args(["get", "namespace", namespace]), None);
            (!output.status.success()).then_some(())
        }),
    );
}
