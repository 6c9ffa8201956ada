//! The rules of `todo_pipeline::standalone`: what it changes in the operator's output, and that it changes
//! nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use k8s_openapi::api::core::v1::Secret;

use crate::support::secret;
use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};
use todo_operator::build::{self, BuildInputs, DesiredState, GeneratedSecrets};
use todo_pipeline::standalone::{Inputs, Plan, translate};

type Test = fn() -> Result<(), Failed>;

pub fn trials() -> Vec<Trial> {
    let tests: [(&str, Test); 6] = [
        (
            "translation::each_app_gets_its_own_ports",
            each_app_gets_its_own_ports,
        ),
        (
            "translation::secrets_resolve_and_the_kubernetes_store_becomes_a_file",
            secrets_resolve,
        ),
        (
            "translation::dapr_resources_pass_through_unchanged",
            dapr_resources_pass_through,
        ),
        (
            "translation::configuration_gains_only_a_name_resolver",
            configuration_gains_only_name_resolution,
        ),
        (
            "translation::an_unknown_annotation_is_an_error",
            unknown_annotation_is_an_error,
        ),
        (
            "translation::a_missing_secret_is_named",
            missing_secret_is_named,
        ),
    ];
    tests
        .into_iter()
        .map(|(name, test)| Trial::test(name, test))
        .collect()
}

const APP_TOKEN: &str = "app-token-value";
const DIR: &str = "/run/pipeline";

fn desired() -> DesiredState {
    let platform = serde_json::from_value(json!({
        "apiVersion": "todoplatform.dev/v1alpha1",
        "kind": "TodoPlatform",
        "metadata": { "name": "todo", "namespace": "ns", "uid": "0000-1111" },
        "spec": {
            "database": { "external": { "urlSecretRef": { "name": "db", "key": "url" } } },
            "eventing": { "external": { "brokers": ["127.0.0.1:9092"] } },
            "notifications": { "smtp": { "urlSecretRef": { "name": "smtp", "key": "url" }, "from": "Todo <todo@example.com>" } },
        },
    }))
    .expect("a valid TodoPlatform");
    let inputs = BuildInputs {
        default_version: "1.2.3".into(),
        generated: GeneratedSecrets {
            jwt_secret: "jwt-value".into(),
            postgres_password: "unused".into(),
            app_token: APP_TOKEN.into(),
        },
        referenced_secret_versions: BTreeMap::new(),
    };
    build::build(&platform, &inputs).expect("builds")
}

fn given() -> Vec<Secret> {
    vec![
        secret("db", "url", "postgres://db/todo"),
        secret("smtp", "url", "smtp://mail:25"),
    ]
}

fn plan_of(desired: &DesiredState, secrets: &[Secret]) -> Result<Plan, String> {
    let mut next = 20_000u16;
    translate(
        &Inputs {
            desired,
            secrets,
            dir: Path::new(DIR),
        },
        &mut || {
            next += 1;
            next
        },
    )
}

fn file(plan: &Plan, name: &str) -> Value {
    let text = &plan.files[&Path::new(DIR).join(name)];
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn check(condition: bool, message: impl Into<String>) -> Result<(), Failed> {
    if condition {
        Ok(())
    } else {
        Err(message.into().into())
    }
}

fn each_app_gets_its_own_ports() -> Result<(), Failed> {
    let desired = desired();
    let plan = plan_of(&desired, &given())?;
    check(
        plan.apps.len() == desired.deployments.len(),
        "one app per Deployment",
    )?;
    let mut ports = BTreeSet::new();
    for app in &plan.apps {
        for port in [app.port, app.dapr_http_port, app.dapr_metrics_port] {
            check(
                ports.insert(port),
                format!("{}: port {port} is shared", app.app_id),
            )?;
        }
        check(
            app.process.env.get("TODO_HTTP_ADDR") == Some(&format!("127.0.0.1:{}", app.port)),
            format!(
                "{}: the listen address follows the app's port: {:?}",
                app.app_id, app.process.env
            ),
        )?;
        check(
            app.process.env.get("DAPR_HTTP_PORT") == Some(&app.dapr_http_port.to_string()),
            "the app finds its sidecar",
        )?;
        let args = app.daprd_args.join(" ");
        check(
            args.contains(&format!("--app-port {}", app.port)),
            format!("daprd calls the app: {args}"),
        )?;
        check(
            args.contains(&format!("--metrics-port {}", app.dapr_metrics_port)),
            "metrics port moved",
        )?;
        check(
            args.contains(&format!("--config {DIR}/config.yaml")),
            "the configuration by path",
        )?;
    }
    check(
        plan.apps[0].process.binary == "todo-api",
        "the API image runs todo-api",
    )?;
    check(
        plan.apps[1..]
            .iter()
            .all(|a| a.process.binary == "todo-worker"),
        "worker images run todo-worker",
    )?;
    check(
        plan.migrations
            .iter()
            .map(|m| m.binary.as_str())
            .collect::<Vec<_>>()
            == ["todo-api", "todo-worker"],
        "the migration Job's init container runs first",
    )
}

fn secrets_resolve() -> Result<(), Failed> {
    let desired = desired();
    let plan = plan_of(&desired, &given())?;
    let api = &plan.apps[0];
    check(
        api.process.env["DATABASE_URL"] == "postgres://db/todo",
        "secretKeyRef resolved",
    )?;
    check(
        api.process.env["TODO_JWT_SECRET"] == "jwt-value",
        "generated secrets resolved",
    )?;
    check(
        api.process.env["APP_API_TOKEN"] == APP_TOKEN,
        "the app's token",
    )?;
    check(
        api.daprd_env.get("APP_API_TOKEN").map(String::as_str) == Some(APP_TOKEN),
        "the sidecar presents it",
    )?;
    check(
        plan.apps[1..]
            .iter()
            .all(|a| !a.daprd_env.contains_key("APP_API_TOKEN")),
        "only the API's sidecar carries the app token",
    )?;
    check(
        api.process.env.contains_key("TODO_PUBSUB_NAME"),
        "the ConfigMap's keys via envFrom",
    )?;

    let store = desired
        .dapr_components
        .iter()
        .find(|c| c.data["spec"]["type"] == "secretstores.kubernetes")
        .and_then(|c| c.metadata.name.clone())
        .ok_or("a kubernetes secret store")?;
    let translated = file(&plan, &format!("resources/component-{store}.yaml"));
    check(
        translated["spec"]["type"] == "secretstores.local.file",
        "same name, local file",
    )?;
    let secrets: Value = serde_json::from_str(&plan.files[&Path::new(DIR).join("secrets.json")])?;
    check(
        secrets["db"]["url"] == "postgres://db/todo",
        "the file holds the Secrets by name and key",
    )?;
    for component in &desired.dapr_components {
        let name = component.metadata.name.clone().unwrap_or_default();
        let translated = file(&plan, &format!("resources/component-{name}.yaml"));
        let reads_secrets = component.data["spec"]["metadata"]
            .to_string()
            .contains("secretKeyRef");
        check(
            (translated["auth"]["secretStore"] == store.as_str()) == reads_secrets,
            format!("{name}: auth.secretStore exactly when it reads secrets"),
        )?;
    }
    Ok(())
}

fn dapr_resources_pass_through() -> Result<(), Failed> {
    let desired = desired();
    let plan = plan_of(&desired, &given())?;
    for object in desired
        .dapr_subscriptions
        .iter()
        .chain([&desired.dapr_resiliency])
    {
        let name = object.metadata.name.clone().unwrap_or_default();
        let kind = object
            .types
            .as_ref()
            .map(|t| t.kind.to_lowercase())
            .unwrap_or_default();
        check(
            file(&plan, &format!("resources/{kind}-{name}.yaml")) == serde_json::to_value(object)?,
            format!("{kind} {name} unchanged"),
        )?;
    }
    for component in &desired.dapr_components {
        let name = component.metadata.name.clone().unwrap_or_default();
        let mut translated = file(&plan, &format!("resources/component-{name}.yaml"));
        if component.data["spec"]["type"] == "secretstores.kubernetes" {
            continue;
        }
        translated
            .as_object_mut()
            .ok_or("an object")?
            .remove("auth");
        check(
            translated == serde_json::to_value(component)?,
            format!("component {name} otherwise unchanged"),
        )?;
    }
    Ok(())
}

fn configuration_gains_only_name_resolution() -> Result<(), Failed> {
    let desired = desired();
    let plan = plan_of(&desired, &given())?;
    let mut config = file(&plan, "config.yaml");
    let resolver = config["spec"]
        .as_object_mut()
        .and_then(|spec| spec.remove("nameResolution"))
        .ok_or("a name resolver")?;
    check(resolver["component"] == "sqlite", "the SQLite resolver")?;
    check(
        resolver["configuration"]["connectionString"] == format!("{DIR}/name-resolution.db"),
        "one database for every sidecar",
    )?;
    check(
        config == serde_json::to_value(&desired.dapr_configuration)?,
        "nothing else changes",
    )
}

fn unknown_annotation_is_an_error() -> Result<(), Failed> {
    let mut desired = desired();
    desired.deployments[0]
        .spec
        .as_mut()
        .and_then(|s| s.template.metadata.as_mut())
        .and_then(|m| m.annotations.as_mut())
        .ok_or("annotations")?
        .insert("dapr.io/sidecar-listen-addresses".into(), "0.0.0.0".into());
    let error = plan_of(&desired, &given())
        .err()
        .ok_or("translated an unknown annotation")?;
    check(error.contains("dapr.io/sidecar-listen-addresses"), error)
}

fn missing_secret_is_named() -> Result<(), Failed> {
    let error = plan_of(&desired(), &given()[..1])
        .err()
        .ok_or("translated without the SMTP Secret")?;
    check(error.contains("Secret smtp"), error)
}
