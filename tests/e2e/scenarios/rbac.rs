//! The chart's RBAC against what the operator really did, read from the API server's audit log after every
//! other scenario ran.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::{OPERATOR_USER, RELEASE, Suite, check, run};

/// (API group, resource[/subresource]) → verbs.
type Grants = BTreeMap<(String, String), BTreeSet<String>>;

fn granted(suite: &Suite) -> Grants {
    let role: Value = serde_json::from_str(&check(
        suite
            .kubectl()
            .args(["get", "clusterrole", RELEASE, "-o", "json"]),
        None,
    ))
    .expect("ClusterRole JSON");
    let mut grants = Grants::new();
    for rule in role["rules"].as_array().expect("rules") {
        let strings = |key: &str| -> Vec<String> {
            rule[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        for group in strings("apiGroups") {
            for resource in strings("resources") {
                grants
                    .entry((group.clone(), resource))
                    .or_default()
                    .extend(strings("verbs"));
            }
        }
    }
    grants
}

/// What the operator did: (group, resource[/subresource]) → verbs, and every denied request.
fn used(suite: &Suite) -> (Grants, Vec<String>) {
    let log = std::fs::read_to_string(suite.cluster.dir.join("audit.log")).expect("audit log");
    let mut used = Grants::new();
    let mut denied = Vec::new();
    for line in log.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if event["user"]["username"] != OPERATOR_USER {
            continue;
        }
        let object = &event["objectRef"];
        let Some(resource) = object["resource"].as_str() else {
            continue; // discovery and other non-resource URLs
        };
        let resource = match object["subresource"].as_str() {
            Some(sub) => format!("{resource}/{sub}"),
            None => resource.to_owned(),
        };
        let group = object["apiGroup"].as_str().unwrap_or_default().to_owned();
        let verb = event["verb"].as_str().unwrap_or_default().to_owned();
        // Only the authorizer's verdicts: admission also answers 403 (e.g. for writes into a namespace
        // being deleted), which says nothing about RBAC.
        if event["annotations"]["authorization.k8s.io/decision"] == "forbid" {
            denied.push(format!(
                "{verb} {group}/{resource} in {}",
                object["namespace"]
            ));
        }
        used.entry((group, resource)).or_default().insert(verb);
    }
    (used, denied)
}

/// The operator was never denied; every read permission the ClusterRole grants was used (writes depend on what
/// the scenarios changed, reads do not); and it cannot do what it has no business doing.
pub fn least_privilege(suite: &Suite) {
    let (used, denied) = used(suite);
    assert!(!used.is_empty(), "the audit log recorded the operator");
    assert!(denied.is_empty(), "denied requests: {denied:#?}");
    let mut unused = Vec::new();
    for ((group, resource), verbs) in granted(suite) {
        for verb in verbs {
            if !matches!(verb.as_str(), "get" | "list" | "watch") {
                continue;
            }
            let was_used = used
                .get(&(group.clone(), resource.clone()))
                .is_some_and(|v| v.contains(&verb));
            if !was_used {
                unused.push(format!("{verb} {group}/{resource}"));
            }
        }
    }
    assert!(
        unused.is_empty(),
        "granted but never used by the operator: {unused:#?}\nused: {used:#?}"
    );
    for (verb, resource) in [
        ("create", "pods"),
        ("list", "nodes"),
        ("delete", "todoplatforms.todoplatform.dev"),
        ("escalate", "clusterroles.rbac.authorization.k8s.io"),
        ("bind", "roles.rbac.authorization.k8s.io"),
        ("update", "customresourcedefinitions.apiextensions.k8s.io"),
    ] {
        let answer = run(
            suite.kubectl().args([
                "auth",
                "can-i",
                verb,
                resource,
                "--all-namespaces",
                "--as",
                OPERATOR_USER,
            ]),
            None,
        );
        assert_eq!(
            String::from_utf8_lossy(&answer.stdout).trim(),
            "no",
            "the operator can {verb} {resource}"
        );
    }
}
