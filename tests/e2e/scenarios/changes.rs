//! Changes after a platform is up: drift, changes Kubernetes forbids in place, upgrades, pause.

use std::time::Duration;

use serde_json::{Value, json};
use todo_operator::crd::TodoPlatform;

use super::basic_platform;
use crate::support::{Suite, check, condition, has, ready, run};

/// A Ready basic platform named `todo` in a fresh namespace.
fn ready_platform(suite: &Suite, namespace: &str, spec_patch: Value) -> TodoPlatform {
    suite.namespace(namespace);
    suite.secret(namespace, "db", &[("url", "postgres://todo@db:5432/todo")]);
    let mut platform = basic_platform(namespace, "todo");
    merge(&mut platform["spec"], spec_patch);
    suite.apply(&platform.to_string());
    suite.block_on(suite.platform_where(namespace, "todo", "Ready", ready))
}

fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch,
    }
}

fn patch_child(
    suite: &Suite,
    namespace: &str,
    kind: &str,
    name: &str,
    kind_of_patch: &str,
    patch: &str,
) {
    check(
        suite.kubectl().args([
            "patch",
            kind,
            name,
            "-n",
            namespace,
            "--type",
            kind_of_patch,
            "-p",
            patch,
        ]),
        None,
    );
}

fn image_of(deployment: &Value) -> String {
    deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `kubectl edit` of a child's spec and `kubectl delete` of a child are both undone.
pub fn drift_is_reverted(suite: &Suite) {
    let namespace = "e2e-drift";
    ready_platform(suite, namespace, json!({}));

    let api = suite
        .get_json("deployment", namespace, "todo-api")
        .expect("API Deployment");
    let image = image_of(&api);
    patch_child(
        suite,
        namespace,
        "deployment",
        "todo-api",
        "json",
        r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"example.com/tampered:1"}]"#,
    );
    suite.block_on(suite.eventually(
        "the API image edit reverted",
        crate::support::WAIT,
        || async {
            let api = suite.get_json("deployment", namespace, "todo-api")?;
            (image_of(&api) == image).then_some(())
        },
    ));

    let config_maps = suite.block_on(suite.children(namespace, "todo"));
    let config_map = config_maps
        .iter()
        .find(|c| c.types.as_ref().is_some_and(|t| t.kind == "ConfigMap"))
        .expect("the platform's ConfigMap");
    let name = config_map.metadata.name.clone().expect("named");
    let (key, value) = config_map.data["data"]
        .as_object()
        .and_then(|data| data.iter().next())
        .map(|(k, v)| (k.clone(), v.clone()))
        .expect("the ConfigMap has data");
    patch_child(
        suite,
        namespace,
        "configmap",
        &name,
        "merge",
        &json!({ "data": { key.clone(): "tampered" } }).to_string(),
    );
    suite.block_on(suite.eventually(
        "the ConfigMap edit reverted",
        crate::support::WAIT,
        || async {
            let current = suite.get_json("configmap", namespace, &name)?;
            (current["data"][&key] == value).then_some(())
        },
    ));

    let service = suite
        .get_json("service", namespace, "todo-api")
        .expect("API Service");
    check(
        suite
            .kubectl()
            .args(["delete", "service", "todo-api", "-n", namespace]),
        None,
    );
    suite.block_on(suite.eventually(
        "the deleted Service re-created",
        crate::support::WAIT,
        || async {
            let current = suite.get_json("service", namespace, "todo-api")?;
            (current["metadata"]["uid"] != service["metadata"]["uid"]).then_some(())
        },
    ));
    suite.block_on(suite.platform_where(namespace, "todo", "Ready after the drift", ready));
}

/// Job pod templates are immutable: a changed pull policy gets a new migration Job (and the Deployments the
/// new policy) instead of an apply the API server rejects.
pub fn pull_policy_replaces_migration_job(suite: &Suite) {
    let namespace = "e2e-pullpolicy";
    ready_platform(suite, namespace, json!({}));
    let job_names = |suite: &Suite| -> Vec<String> {
        let out = check(
            suite.kubectl().args([
                "get",
                "jobs",
                "-n",
                namespace,
                "-o",
                "jsonpath={.items[*].metadata.name}",
            ]),
            None,
        );
        out.split_whitespace().map(str::to_owned).collect()
    };
    let before = job_names(suite);
    assert_eq!(before.len(), 1, "{before:?}");
    suite.patch_platform(
        namespace,
        &json!({ "spec": { "images": { "pullPolicy": "Always" } } }),
    );
    let platform = suite.block_on(suite.platform_where(
        namespace,
        "todo",
        "Ready with the new pull policy",
        |p| p.metadata.generation == Some(2) && ready(p),
    ));
    assert!(has(&platform, "Stalled", "False"));
    let after = job_names(suite);
    assert!(
        after.iter().any(|name| !before.contains(name)),
        "a new migration Job replaced {before:?}: {after:?}"
    );
    let current = after
        .iter()
        .find(|name| !before.contains(name))
        .expect("new Job");
    let job = suite.get_json("job", namespace, current).expect("new Job");
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
    let api = suite
        .get_json("deployment", namespace, "todo-api")
        .expect("API");
    assert_eq!(
        api["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
}

/// A StatefulSet's volume claims cannot change in place: a new managed storage size is reported as Stalled,
/// naming the field, while the rest of the same edit is still applied.
pub fn managed_storage_change_stalls(suite: &Suite) {
    let namespace = "e2e-storage";
    ready_platform(
        suite,
        namespace,
        json!({ "database": { "external": null, "managed": { "storage": "1Gi" } } }),
    );
    suite.patch_platform(namespace,
        &json!({ "spec": { "database": { "managed": { "storage": "2Gi" } }, "api": { "replicas": 2 } } }),
    );
    let platform = suite.block_on(suite.platform_where(
        namespace,
        "todo",
        "Stalled naming the storage field",
        |p| p.metadata.generation == Some(2) && has(p, "Stalled", "True"),
    ));
    let stalled = condition(&platform, "Stalled").expect("Stalled");
    assert!(
        stalled.message.contains("database.managed.storage"),
        "the message names the field: {stalled:?}"
    );
    assert!(has(&platform, "Ready", "False"));
    let json = serde_json::to_value(&platform).expect("JSON");
    assert_eq!(suite.cluster.kstatus(&json), "Failed");
    suite.block_on(suite.eventually(
        "the API scaled to 2 despite the stalled StatefulSet",
        crate::support::WAIT,
        || async {
            let api = suite.get_json("deployment", namespace, "todo-api")?;
            (api["spec"]["replicas"] == 2).then_some(())
        },
    ));
}

/// A version whose migration fails: Stalled (kstatus Failed), the Deployments keep the old version; the next
/// good version recovers and only then rolls.
pub fn failed_upgrade(suite: &Suite) {
    let namespace = "e2e-upgrade";
    ready_platform(suite, namespace, json!({}));
    let old_image = image_of(
        &suite
            .get_json("deployment", namespace, "todo-api")
            .expect("API"),
    );
    assert!(old_image.ends_with(":1.0.0"), "{old_image}");

    // tests/cluster/stages.yaml: a Job pod whose image ends in ":kwok-fail" exits 1.
    suite.patch_platform(namespace, &json!({ "spec": { "version": "kwok-fail" } }));
    let platform = suite.block_on(suite.platform_within(
        Duration::from_secs(300),
        namespace,
        "todo",
        "Stalled by the failed migration",
        |p| p.metadata.generation == Some(2) && has(p, "Stalled", "True"),
    ));
    let migrations = condition(&platform, "MigrationsComplete").expect("MigrationsComplete");
    assert_eq!(migrations.status, "False");
    assert_eq!(migrations.reason, "Failed", "{migrations:?}");
    assert!(has(&platform, "Ready", "False"));
    let json = serde_json::to_value(&platform).expect("JSON");
    assert_eq!(suite.cluster.kstatus(&json), "Failed");
    for deployment in ["todo-api", "todo-worker-recurrence", "todo-worker-audit"] {
        let current = suite
            .get_json("deployment", namespace, deployment)
            .expect("Deployment");
        assert!(
            image_of(&current).ends_with(":1.0.0"),
            "{deployment} kept the old version: {}",
            image_of(&current)
        );
        assert!(
            current["status"]["availableReplicas"].as_i64().unwrap_or(0) >= 1,
            "{deployment} still serves"
        );
    }

    suite.patch_platform(namespace, &json!({ "spec": { "version": "1.1.0" } }));
    let platform = suite.block_on(
        suite.platform_where(namespace, "todo", "Ready at 1.1.0", |p| {
            p.metadata.generation == Some(3) && ready(p)
        }),
    );
    assert!(has(&platform, "Stalled", "False"));
    let api = suite
        .get_json("deployment", namespace, "todo-api")
        .expect("API");
    assert!(image_of(&api).ends_with(":1.1.0"), "{}", image_of(&api));
    let json = serde_json::to_value(&platform).expect("JSON");
    assert_eq!(suite.cluster.kstatus(&json), "Current");
}

/// `todoplatform.dev/paused: "true"` stops changes to children (a condition says so); removing it resumes.
pub fn pause(suite: &Suite) {
    let namespace = "e2e-pause";
    ready_platform(suite, namespace, json!({}));
    check(
        suite.kubectl().args([
            "annotate",
            "todoplatform",
            "todo",
            "-n",
            namespace,
            "todoplatform.dev/paused=true",
        ]),
        None,
    );
    let paused = suite.block_on(suite.platform_where(
        namespace,
        "todo",
        "a Paused condition",
        |p| has(p, "Paused", "True"),
    ));
    // Kept as a sample for the Argo CD health check, which must call it Suspended.
    suite
        .cluster
        .kstatus(&serde_json::to_value(&paused).expect("JSON"));
    let reconciles = || {
        suite
            .operator
            .lock()
            .expect("operator lock")
            .metric("todo_operator_reconciles_total")
    };
    let before = reconciles();
    check(
        suite
            .kubectl()
            .args(["delete", "service", "todo-api", "-n", namespace]),
        None,
    );
    // Deleting an owned Service triggers a reconcile; once one has run, the Service must still be gone.
    suite.block_on(suite.eventually(
        "a reconcile after the deletion",
        crate::support::WAIT,
        || async { (reconciles() > before).then_some(()) },
    ));
    let service = run(
        suite
            .kubectl()
            .args(["get", "service", "todo-api", "-n", namespace]),
        None,
    );
    assert!(
        !service.status.success(),
        "a paused platform's Service was re-created"
    );

    check(
        suite.kubectl().args([
            "annotate",
            "todoplatform",
            "todo",
            "-n",
            namespace,
            "todoplatform.dev/paused-",
        ]),
        None,
    );
    suite.block_on(suite.eventually(
        "the Service re-created after resuming",
        crate::support::WAIT,
        || async { suite.get_json("service", namespace, "todo-api") },
    ));
    let platform = suite.block_on(suite.platform_where(
        namespace,
        "todo",
        "Ready, not paused",
        |p| ready(p) && !has(p, "Paused", "True"),
    ));
    assert!(has(&platform, "Reconciling", "False"));
}
