//! The chart's namespace-scoped install: a Role instead of a ClusterRole, and an operator that manages its
//! namespace only. Runs after the scenarios because it stops the cluster-wide operator.

use serde_json::Value;

use super::basic_platform;
use crate::support::{Operator, Suite, check, has, helm_install, ready, run};

const NAMESPACE: &str = "e2e-scoped";
const OTHER: &str = "e2e-scoped-other";
const RELEASE: &str = "scoped-todo-operator";

/// Installed with `watchNamespace`, the operator holds no cluster-wide rights, reconciles a platform in its
/// namespace to Ready, never touches one elsewhere, and is never denied anything.
pub fn namespace_scoped_install(suite: &Suite) {
    helm_install(
        &suite.cluster,
        RELEASE,
        NAMESPACE,
        &[&format!("watchNamespace={NAMESPACE}"), "crds.install=false"],
    );
    let user = format!("system:serviceaccount:{NAMESPACE}:{RELEASE}");
    let can = |verb: &str, resource: &str, namespace: &str| -> bool {
        let answer = run(
            suite.kubectl().args([
                "auth", "can-i", verb, resource, "-n", namespace, "--as", &user,
            ]),
            None,
        );
        String::from_utf8_lossy(&answer.stdout).trim() == "yes"
    };
    assert!(can("patch", "deployments.apps", NAMESPACE));
    assert!(can("get", "secrets", NAMESPACE));
    assert!(
        !can("get", "secrets", "kube-system"),
        "Secrets beyond its namespace"
    );
    assert!(!can("list", "todoplatforms.todoplatform.dev", OTHER));
    let cluster_wide = run(
        suite.kubectl().args([
            "auth",
            "can-i",
            "list",
            "deployments.apps",
            "--all-namespaces",
            "--as",
            &user,
        ]),
        None,
    );
    assert_eq!(String::from_utf8_lossy(&cluster_wide.stdout).trim(), "no");

    // Only this operator runs from here on.
    suite.operator.lock().expect("operator lock").stop();
    let scoped = Operator::start(
        &suite.cluster,
        NAMESPACE,
        RELEASE,
        &["--watch-namespace", NAMESPACE],
    );
    suite.namespace(OTHER);
    for namespace in [NAMESPACE, OTHER] {
        suite.secret(namespace, "db", &[("url", "postgres://todo@db:5432/todo")]);
        suite.apply(&basic_platform(namespace, "todo").to_string());
    }
    let platform = suite.block_on(suite.platform_where(NAMESPACE, "todo", "Ready", ready));
    assert!(has(&platform, "Stalled", "False"));
    let other = suite
        .get_json("todoplatform", OTHER, "todo")
        .expect("the other platform exists");
    assert_eq!(
        other["status"],
        Value::Null,
        "a platform outside its namespace was reconciled"
    );
    let deployments = check(
        suite
            .kubectl()
            .args(["get", "deployments", "-n", OTHER, "-o", "name"]),
        None,
    );
    assert!(deployments.trim().is_empty(), "{deployments}");

    let log = std::fs::read_to_string(suite.cluster.dir.join("audit.log")).expect("audit log");
    let mut requests = 0;
    for line in log.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if event["user"]["username"] != user.as_str() {
            continue;
        }
        requests += 1;
        assert_ne!(
            event["annotations"]["authorization.k8s.io/decision"], "forbid",
            "denied: {}",
            event["requestURI"]
        );
        if event["objectRef"]["resource"].is_string() {
            assert_eq!(
                event["objectRef"]["namespace"], NAMESPACE,
                "a request outside its namespace: {}",
                event["requestURI"]
            );
        }
    }
    assert!(requests > 0, "the audit log recorded the scoped operator");
    drop(scoped);
}
