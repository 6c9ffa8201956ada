//! Drift detection: does a live child still hold every field the operator sets?
//!
//! The live object carries more than was applied: server defaults (`dnsPolicy`,
//! `terminationMessagePath`, `revisionHistoryLimit`…), identity, `managedFields`, status, and
//! fields other managers own. So the desired manifest is compared as a subset: every field we
//! set must be present with our value, anything else is ignored. A `kubectl edit` of one of our
//! fields (or a changed applied-hash annotation) is drift and is re-applied; an unchanged child
//! costs no write.

use serde_json::Value;

/// True when `live` no longer holds every field of `desired` (top-level `apiVersion` and `kind`
/// aside: list responses leave them out of their items).
pub fn drifted(desired: &Value, live: &Value) -> bool {
    let Value::Object(desired) = desired else {
        return true;
    };
    !desired
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "apiVersion" | "kind"))
        .all(|(key, value)| contains(live.get(key), value))
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn name_of(value: &Value) -> Option<&str> {
    value.get("name").and_then(Value::as_str)
}

/// Whether `live` holds `desired`. Objects: each desired key, recursively. Lists of named
/// elements (containers, env, ports, volumes, Dapr metadata…) are matched by name, as
/// server-side apply merges them, so elements others added do not count. Other lists are
/// atomic: same length, element by element. The API server drops empty lists and objects
/// under `omitempty`, so a missing field equals an empty desired one.
fn contains(live: Option<&Value>, desired: &Value) -> bool {
    let Some(live) = live.filter(|l| !l.is_null()) else {
        return is_empty(desired);
    };
    match (desired, live) {
        (Value::Object(desired), Value::Object(live)) => desired
            .iter()
            .all(|(key, value)| contains(live.get(key), value)),
        (Value::Array(desired), Value::Array(live)) => {
            if !desired.is_empty() && desired.iter().all(|d| name_of(d).is_some()) {
                desired
                    .iter()
                    .all(|d| contains(live.iter().find(|l| name_of(l) == name_of(d)), d))
            } else {
                desired.len() == live.len()
                    && desired.iter().zip(live).all(|(d, l)| contains(Some(l), d))
            }
        }
        (desired, live) => desired == live,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::crd::TodoPlatform;

    fn desired_deployment() -> Value {
        let platform: TodoPlatform = serde_json::from_value(json!({
            "apiVersion": "todoplatform.dev/v1alpha1",
            "kind": "TodoPlatform",
            "metadata": { "name": "todo", "namespace": "ns", "uid": "u" },
            "spec": { "database": { "managed": {} }, "eventing": { "managed": {} } },
        }))
        .unwrap();
        crate::build::build(&platform, &crate::render::offline_inputs())
            .unwrap()
            .into_children()
            .into_iter()
            .find(|c| c.resource.kind == "Deployment")
            .unwrap()
            .manifest
    }

    /// What kube-apiserver returns for the applied Deployment: defaults in the spec, pod
    /// template and containers, identity, managedFields and status; and, as in a list
    /// response, no apiVersion/kind.
    fn live_with_server_defaults(desired: &Value) -> Value {
        let mut live = desired.clone();
        let object = live.as_object_mut().unwrap();
        object.remove("apiVersion");
        object.remove("kind");
        let meta = &mut live["metadata"];
        meta["uid"] = "d-1".into();
        meta["resourceVersion"] = "42".into();
        meta["generation"] = 3.into();
        meta["creationTimestamp"] = "2026-01-01T00:00:00Z".into();
        meta["managedFields"] =
            json!([{ "manager": "todo-operator/workloads", "operation": "Apply" }]);
        meta["annotations"]["deployment.kubernetes.io/revision"] = "3".into();
        let spec = &mut live["spec"];
        spec["progressDeadlineSeconds"] = 600.into();
        let pod = &mut spec["template"]["spec"];
        pod["dnsPolicy"] = "ClusterFirst".into();
        pod["schedulerName"] = "default-scheduler".into();
        pod["restartPolicy"] = "Always".into();
        let container = &mut pod["containers"][0];
        container["terminationMessagePath"] = "/dev/termination-log".into();
        container["terminationMessagePolicy"] = "File".into();
        container["livenessProbe"]["successThreshold"] = 1.into();
        container["livenessProbe"]["httpGet"]["scheme"] = "HTTP".into();
        live["status"] = json!({ "observedGeneration": 3, "replicas": 2 });
        live
    }

    #[test]
    fn server_defaults_and_metadata_are_not_drift() {
        let desired = desired_deployment();
        assert!(!drifted(&desired, &live_with_server_defaults(&desired)));
    }

    #[test]
    fn an_edited_field_we_set_is_drift() {
        let desired = desired_deployment();
        let mut live = live_with_server_defaults(&desired);
        live["spec"]["template"]["spec"]["containers"][0]["image"] = "evil:latest".into();
        assert!(drifted(&desired, &live));

        let mut live = live_with_server_defaults(&desired);
        live["spec"]["replicas"] = 9.into();
        assert!(drifted(&desired, &live));

        let mut live = live_with_server_defaults(&desired);
        live["metadata"]["annotations"][crate::names::APPLIED_HASH_ANNOTATION] = "old".into();
        assert!(drifted(&desired, &live));
    }

    #[test]
    fn a_removed_field_or_element_is_drift() {
        let desired = desired_deployment();
        let mut live = live_with_server_defaults(&desired);
        live["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap()
            .remove(0);
        assert!(drifted(&desired, &live));

        let mut live = live_with_server_defaults(&desired);
        live["spec"]["template"]["metadata"]["annotations"]
            .as_object_mut()
            .unwrap()
            .remove("dapr.io/app-id");
        assert!(drifted(&desired, &live));
    }

    /// Elements other managers add to a named list stay theirs (server-side apply keeps them),
    /// so they must not make every reconcile re-apply.
    #[test]
    fn elements_others_add_to_named_lists_are_not_drift() {
        let desired = desired_deployment();
        let mut live = live_with_server_defaults(&desired);
        live["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap()
            .insert(0, json!({ "name": "EXTRA", "value": "1" }));
        assert!(!drifted(&desired, &live));
    }

    #[test]
    fn atomic_lists_compare_whole() {
        let desired = json!({ "metadata": { "name": "x" }, "scopes": ["a", "b"] });
        assert!(!drifted(
            &desired,
            &json!({ "metadata": { "name": "x" }, "scopes": ["a", "b"] })
        ));
        assert!(drifted(
            &desired,
            &json!({ "metadata": { "name": "x" }, "scopes": ["a"] })
        ));
        assert!(drifted(
            &desired,
            &json!({ "metadata": { "name": "x" }, "scopes": ["a", "b", "c"] })
        ));
    }

    #[test]
    fn empty_desired_fields_match_omitted_ones() {
        let desired =
            json!({ "metadata": { "name": "x" }, "spec": { "emptyDir": {}, "items": [] } });
        assert!(!drifted(
            &desired,
            &json!({ "metadata": { "name": "x" }, "spec": {} })
        ));
    }
}
