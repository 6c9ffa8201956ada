//! The operator's output for a TodoPlatform, translated to processes on one machine: each Deployment becomes
//! its app's binary beside a daprd in standalone mode, and the Dapr Components, Subscriptions, Resiliency and
//! Configuration the operator renders become daprd's resources directory and configuration file.
//!
//! Only what exists solely in Kubernetes is translated, each in one place below:
//! - a Pod's network namespace: every app and sidecar gets its own free 127.0.0.1 ports, and the env var that
//!   holds the container's listen address follows its port;
//! - Secrets and ConfigMaps: `secretKeyRef`, `configMapKeyRef` and `envFrom` are resolved from the objects
//!   given; `secretstores.kubernetes` becomes a `secretstores.local.file` of the same name over the same
//!   Secrets, and components that read secrets name it (`auth.secretStore`), which Kubernetes mode implies;
//! - the sidecar injector: the `dapr.io/*` annotations become daprd flags, and the env vars the injector sets
//!   (`DAPR_HTTP_PORT`, `DAPR_GRPC_PORT` on the app; `NAMESPACE`, `APP_API_TOKEN` on daprd) are set;
//! - name resolution: Kubernetes DNS becomes Dapr's SQLite resolver (one database file shared by the
//!   sidecars), added to the Configuration;
//! - images: an image's last path segment names the binary (`…/todo-api:0.1.0` runs `todo-api`).
//!
//! Anything else is passed through unchanged, and an annotation or reference the translation does not know
//! is an error, so a change to what the operator renders cannot slip past the suite untranslated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec, Secret};
use serde_json::{Value, json};
use todo_operator::build::DesiredState;

/// What to translate.
pub struct Inputs<'a> {
    /// What the operator would apply.
    pub desired: &'a DesiredState,
    /// The Secrets the platform references; the ones the operator generates are taken from `desired`.
    pub secrets: &'a [Secret],
    /// Where the daprd files go (see [`Plan::files`]).
    pub dir: &'a Path,
}

/// A process to run: a binary of this workspace, its arguments and its whole environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub binary: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
}

/// One Deployment: its app and its sidecar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    /// The Dapr app-id (`dapr.io/app-id`).
    pub app_id: String,
    pub process: Process,
    /// Where the app listens (HTTP).
    pub port: u16,
    /// daprd's arguments; run it with [`App::daprd_env`] added to the environment.
    pub daprd_args: Vec<String>,
    pub daprd_env: BTreeMap<String, String>,
    /// The sidecar's HTTP API port.
    pub dapr_http_port: u16,
    /// The sidecar's metrics port.
    pub dapr_metrics_port: u16,
}

/// The translated platform.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The platform's namespace (daprd loads only the resources of its `NAMESPACE`).
    pub namespace: String,
    /// The migration Job's containers, init containers first: run each to completion before any app.
    pub migrations: Vec<Process>,
    /// The API first, then the workers, in the operator's order.
    pub apps: Vec<App>,
    /// Files to write before starting daprd: the resources directory, the configuration, the secrets file.
    pub files: BTreeMap<PathBuf, String>,
}

/// The SQLite name resolver's database, shared by every sidecar (relative to [`Inputs::dir`]).
pub const NAME_RESOLUTION_DB: &str = "name-resolution.db";
/// daprd's resources directory (relative to [`Inputs::dir`]).
pub const RESOURCES_DIR: &str = "resources";

/// Translate `inputs`, taking ports from `port` (a free-port allocator in the suite, a counter in tests).
pub fn translate(inputs: &Inputs, port: &mut dyn FnMut() -> u16) -> Result<Plan, String> {
    let desired = inputs.desired;
    let namespace = desired
        .config_map
        .metadata
        .namespace
        .clone()
        .ok_or("the ConfigMap has no namespace")?;
    let secrets = Secrets::new(inputs.secrets, &desired.generated_secrets)?;
    let env = Env {
        secrets: &secrets,
        config_map_name: desired.config_map.metadata.name.clone().unwrap_or_default(),
        config_map: desired.config_map.data.clone().unwrap_or_default(),
    };

    let secrets_file = inputs.dir.join("secrets.json");
    let config_file = inputs.dir.join("config.yaml");
    let resources = inputs.dir.join(RESOURCES_DIR);
    let config_name = name_of(&desired.dapr_configuration.metadata)?;
    let mut files = BTreeMap::new();
    files.insert(
        secrets_file.clone(),
        serde_json::to_string_pretty(&secrets.as_json()).map_err(|e| e.to_string())?,
    );
    files.insert(
        config_file.clone(),
        yaml(&configuration(
            desired,
            &inputs.dir.join(NAME_RESOLUTION_DB),
        )?)?,
    );
    let secret_store = secret_store_name(desired)?;
    for component in &desired.dapr_components {
        let translated = component_for_standalone(component, &secret_store, &secrets_file)?;
        let name = name_of(&component.metadata)?;
        files.insert(
            resources.join(format!("component-{name}.yaml")),
            yaml(&translated)?,
        );
    }
    for subscription in &desired.dapr_subscriptions {
        let name = name_of(&subscription.metadata)?;
        files.insert(
            resources.join(format!("subscription-{name}.yaml")),
            yaml(&to_json(subscription)?)?,
        );
    }
    let resiliency = name_of(&desired.dapr_resiliency.metadata)?;
    files.insert(
        resources.join(format!("resiliency-{resiliency}.yaml")),
        yaml(&to_json(&desired.dapr_resiliency)?)?,
    );

    let job = desired
        .migration_job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .ok_or("the migration Job has no pod spec")?;
    let migrations = job
        .init_containers
        .iter()
        .flatten()
        .chain(&job.containers)
        .map(|c| env.process(c, None))
        .collect::<Result<_, _>>()?;

    let apps = desired
        .deployments
        .iter()
        .map(|d| {
            app(
                d,
                &env,
                &Sidecar {
                    namespace: &namespace,
                    config_name: &config_name,
                    config_file: &config_file,
                    resources: &resources,
                    secrets: &secrets,
                },
                port,
            )
        })
        .collect::<Result<_, _>>()?;
    Ok(Plan {
        namespace,
        migrations,
        apps,
        files,
    })
}

/// Every Secret's data as strings, by name.
struct Secrets(BTreeMap<String, BTreeMap<String, String>>);

impl Secrets {
    fn new(given: &[Secret], generated: &[Secret]) -> Result<Secrets, String> {
        let mut all = BTreeMap::new();
        for secret in given.iter().chain(generated) {
            let name = name_of(&secret.metadata)?;
            let mut data: BTreeMap<String, String> = BTreeMap::new();
            for (key, value) in secret.data.iter().flatten() {
                let text = String::from_utf8(value.0.clone())
                    .map_err(|_| format!("Secret {name} key {key} is not UTF-8"))?;
                data.insert(key.clone(), text);
            }
            for (key, value) in secret.string_data.iter().flatten() {
                data.insert(key.clone(), value.clone());
            }
            all.insert(name, data);
        }
        Ok(Secrets(all))
    }

    fn get(&self, name: &str, key: &str) -> Result<String, String> {
        self.0
            .get(name)
            .ok_or_else(|| format!("Secret {name} is referenced but not given"))?
            .get(key)
            .cloned()
            .ok_or_else(|| format!("Secret {name} has no key {key}"))
    }

    /// The local file secret store's multi-valued layout: `{secret: {key: value}}`, as Kubernetes Secrets.
    fn as_json(&self) -> Value {
        json!(self.0)
    }
}

/// Resolves a container's environment.
struct Env<'a> {
    secrets: &'a Secrets,
    config_map_name: String,
    config_map: BTreeMap<String, String>,
}

impl Env<'_> {
    /// The container as a process. `listen` = (container port, local port): the env var holding the
    /// container's listen address is moved to the local port.
    fn process(
        &self,
        container: &Container,
        listen: Option<(i32, u16)>,
    ) -> Result<Process, String> {
        let image = container
            .image
            .as_deref()
            .ok_or_else(|| format!("container {} has no image", container.name))?;
        let repository = image.rsplit_once(':').map_or(image, |(r, _)| r);
        let binary = repository
            .rsplit('/')
            .next()
            .unwrap_or(repository)
            .to_owned();
        let mut env = BTreeMap::new();
        for source in container.env_from.iter().flatten() {
            let reference = source.config_map_ref.as_ref().ok_or_else(|| {
                format!(
                    "container {}: only envFrom ConfigMaps are translated",
                    container.name
                )
            })?;
            if reference.name != self.config_map_name {
                return Err(format!(
                    "container {} reads ConfigMap {}, which the operator does not render",
                    container.name, reference.name
                ));
            }
            env.extend(self.config_map.clone());
        }
        for var in container.env.iter().flatten() {
            let value = match (&var.value, &var.value_from) {
                (Some(value), None) => value.clone(),
                (None, Some(from)) => match (&from.secret_key_ref, &from.config_map_key_ref) {
                    (Some(secret), None) => self.secrets.get(&secret.name, &secret.key)?,
                    (None, Some(config)) if config.name == self.config_map_name => self
                        .config_map
                        .get(&config.key)
                        .cloned()
                        .ok_or_else(|| format!("ConfigMap has no key {}", config.key))?,
                    _ => return Err(format!("env {}: unsupported valueFrom", var.name)),
                },
                (None, None) => String::new(),
                (Some(_), Some(_)) => return Err(format!("env {}: value and valueFrom", var.name)),
            };
            env.insert(var.name.clone(), value);
        }
        if let Some((container_port, local)) = listen {
            let listening: Vec<String> = env
                .iter()
                .filter(|(_, v)| {
                    v.ends_with(&format!(":{container_port}")) && v.starts_with("0.0.0.0:")
                })
                .map(|(k, _)| k.clone())
                .collect();
            match listening.as_slice() {
                [name] => {
                    env.insert(name.clone(), format!("127.0.0.1:{local}"));
                }
                _ => {
                    return Err(format!(
                        "container {}: expected one env var with the listen address 0.0.0.0:{container_port}, found {listening:?}",
                        container.name
                    ));
                }
            }
        }
        Ok(Process {
            binary,
            args: container.args.clone().unwrap_or_default(),
            env,
        })
    }
}

/// What every sidecar shares.
struct Sidecar<'a> {
    namespace: &'a str,
    config_name: &'a str,
    config_file: &'a Path,
    resources: &'a Path,
    secrets: &'a Secrets,
}

fn app(
    deployment: &Deployment,
    env: &Env,
    sidecar: &Sidecar,
    port: &mut dyn FnMut() -> u16,
) -> Result<App, String> {
    let name = name_of(&deployment.metadata)?;
    let template = &deployment
        .spec
        .as_ref()
        .ok_or_else(|| format!("Deployment {name} has no spec"))?
        .template;
    let pod: &PodSpec = template
        .spec
        .as_ref()
        .ok_or_else(|| format!("Deployment {name} has no pod spec"))?;
    let [container] = pod.containers.as_slice() else {
        return Err(format!(
            "Deployment {name}: expected one container (daprd is injected)"
        ));
    };
    let annotations = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    let annotation = |key: &str| {
        annotations
            .get(key)
            .cloned()
            .ok_or_else(|| format!("Deployment {name} has no {key} annotation"))
    };
    if annotation("dapr.io/enabled")? != "true" {
        return Err(format!("Deployment {name} is not Dapr-enabled"));
    }
    let app_id = annotation("dapr.io/app-id")?;
    let container_port: i32 = annotation("dapr.io/app-port")?
        .parse()
        .map_err(|_| format!("Deployment {name}: dapr.io/app-port is not a number"))?;
    let app_port = port();
    let dapr_http_port = port();
    let dapr_grpc_port = port();
    let dapr_metrics_port = port();
    let mut args: Vec<String> = [
        "--mode",
        "standalone",
        "--app-id",
        &app_id,
        "--app-port",
        &app_port.to_string(),
        "--app-protocol",
        "http",
        "--dapr-listen-addresses",
        "127.0.0.1",
        "--dapr-http-port",
        &dapr_http_port.to_string(),
        "--dapr-grpc-port",
        &dapr_grpc_port.to_string(),
        "--dapr-internal-grpc-listen-address",
        "127.0.0.1",
        "--dapr-internal-grpc-port",
        &port().to_string(),
        "--metrics-listen-address",
        "127.0.0.1",
        "--resources-path",
        &sidecar.resources.display().to_string(),
    ]
    .map(str::to_owned)
    .to_vec();
    let mut daprd_env = BTreeMap::from([
        ("NAMESPACE".to_owned(), sidecar.namespace.to_owned()),
        // The address the sidecar registers with the name resolver.
        ("DAPR_HOST_IP".to_owned(), "127.0.0.1".to_owned()),
    ]);
    for (key, value) in &annotations {
        let Some(option) = key.strip_prefix("dapr.io/") else {
            continue;
        };
        match option {
            "enabled" | "app-id" | "app-port" => {}
            "config" if value == sidecar.config_name => {
                args.extend(["--config".into(), sidecar.config_file.display().to_string()]);
            }
            "config" => {
                return Err(format!(
                    "Deployment {name} uses Dapr configuration {value}, which the operator does not render"
                ));
            }
            "enable-metrics" => args.push(format!("--enable-metrics={value}")),
            // Each pod has its own port space; on one machine each sidecar needs its own port.
            "metrics-port" => args.extend(["--metrics-port".into(), dapr_metrics_port.to_string()]),
            "enable-app-health-check" => args.push(format!("--enable-app-health-check={value}")),
            "app-health-check-path" => {
                args.extend(["--app-health-check-path".into(), value.clone()])
            }
            "log-level" => args.extend(["--log-level".into(), value.clone()]),
            "log-as-json" => args.push(format!("--log-as-json={value}")),
            // The injector gives the sidecar the Secret's `token` as APP_API_TOKEN.
            "app-token-secret" => {
                daprd_env.insert("APP_API_TOKEN".into(), sidecar.secrets.get(value, "token")?);
            }
            other => {
                return Err(format!(
                    "Deployment {name}: annotation dapr.io/{other} is not translated"
                ));
            }
        }
    }
    let mut process = env.process(container, Some((container_port, app_port)))?;
    // Set by the injector on the app container.
    process
        .env
        .insert("DAPR_HTTP_PORT".into(), dapr_http_port.to_string());
    process
        .env
        .insert("DAPR_GRPC_PORT".into(), dapr_grpc_port.to_string());
    Ok(App {
        app_id,
        process,
        port: app_port,
        daprd_args: args,
        daprd_env,
        dapr_http_port,
        dapr_metrics_port,
    })
}

/// The name of the `secretstores.kubernetes` component (exactly one).
fn secret_store_name(desired: &DesiredState) -> Result<String, String> {
    let stores: Vec<String> = desired
        .dapr_components
        .iter()
        .filter(|c| c.data["spec"]["type"] == "secretstores.kubernetes")
        .map(|c| name_of(&c.metadata))
        .collect::<Result<_, _>>()?;
    match stores.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "expected one secretstores.kubernetes component, found {stores:?}"
        )),
    }
}

fn component_for_standalone(
    component: &kube::core::DynamicObject,
    secret_store: &str,
    secrets_file: &Path,
) -> Result<Value, String> {
    let mut value = to_json(component)?;
    let spec = &mut value["spec"];
    if spec["type"] == "secretstores.kubernetes" {
        spec["type"] = json!("secretstores.local.file");
        spec["metadata"] = json!([
            { "name": "secretsFile", "value": secrets_file.display().to_string() },
            { "name": "multiValued", "value": "true" },
        ]);
        return Ok(value);
    }
    let reads_secrets = spec["metadata"]
        .as_array()
        .is_some_and(|items| items.iter().any(|m| m.get("secretKeyRef").is_some()));
    if reads_secrets {
        value["auth"] = json!({ "secretStore": secret_store });
    }
    Ok(value)
}

/// The Configuration, with the name resolver a machine without Kubernetes DNS needs.
fn configuration(desired: &DesiredState, name_resolution_db: &Path) -> Result<Value, String> {
    let mut value = to_json(&desired.dapr_configuration)?;
    if value["spec"].get("nameResolution").is_some() {
        return Err("the Configuration already sets nameResolution".into());
    }
    value["spec"]["nameResolution"] = json!({
        "component": "sqlite",
        "version": "v1",
        "configuration": { "connectionString": name_resolution_db.display().to_string() },
    });
    Ok(value)
}

fn to_json(object: &kube::core::DynamicObject) -> Result<Value, String> {
    serde_json::to_value(object).map_err(|e| e.to_string())
}

fn yaml(value: &Value) -> Result<String, String> {
    serde_yaml::to_string(value).map_err(|e| e.to_string())
}

fn name_of(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Result<String, String> {
    meta.name
        .clone()
        .ok_or_else(|| "an object without a name".into())
}
