//! The suite's fixtures: the cluster from `tests/cluster/cluster.sh`, the operator installed from its chart
//! and running as a local process under the chart's ServiceAccount, and helpers to drive both the way a
//! platform engineer does (kubectl, helm) and to read state back (kube client).

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config};
use serde_json::Value;
use todo_operator::crd::TodoPlatform;

/// Where the chart installs the operator.
pub const OPERATOR_NAMESPACE: &str = "todo-system";
/// The chart's release name, ServiceAccount and ClusterRole name.
pub const RELEASE: &str = "todo-operator";
/// The ServiceAccount the operator process authenticates as.
pub const OPERATOR_USER: &str = "system:serviceaccount:todo-system:todo-operator";
/// How long a scenario waits for the cluster to reach a state before failing.
pub const WAIT: Duration = Duration::from_secs(90);

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// True under CI, where a missing tool fails the suite instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// A program on PATH or in the operator tools directory `.ci/setup-operator.sh` fills.
pub fn tool(name: &str) -> Option<PathBuf> {
    let tools = std::env::var_os("TODO_OPERATOR_TOOLS")
        .map_or_else(|| PathBuf::from("/opt/todo-operator-tools"), PathBuf::from)
        .join("bin")
        .join(name);
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .chain([tools])
        .find(|candidate| candidate.is_file())
}

/// Run a command to completion, feeding `stdin`.
pub fn run(command: &mut Command, stdin: Option<&str>) -> Output {
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input.as_bytes())
            .expect("stdin written");
    }
    child.wait_with_output().expect("command finished")
}

/// Stdout of a command that must succeed.
pub fn check(command: &mut Command, stdin: Option<&str>) -> String {
    let output = run(command, stdin);
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// The control plane of `tests/cluster/cluster.sh`, in a state directory of this run; stopped on drop (and by
/// the script's own watcher if this process dies first).
pub struct Cluster {
    script: PathBuf,
    /// State directory (certificates, logs, audit log).
    pub dir: PathBuf,
    /// The binaries (kubectl, kstatus, ...).
    pub bin: PathBuf,
    /// The admin kubeconfig.
    pub kubeconfig: PathBuf,
}

impl Cluster {
    /// Start the cluster, or say why it cannot be started here.
    pub fn up() -> Result<Self, String> {
        let script = repo().join("tests/cluster/cluster.sh");
        let bin = run(Command::new("bash").arg(&script).arg("bin"), None);
        if !bin.status.success() {
            return Err(
                "the cluster binaries are not built: run `tests/cluster/cluster.sh build` (Go, ~20 min once)"
                    .into(),
            );
        }
        let bin = PathBuf::from(String::from_utf8_lossy(&bin.stdout).trim());
        let dir = std::env::temp_dir().join(format!("todo-e2e-cluster-{}", std::process::id()));
        let up = run(
            Command::new("bash")
                .arg(&script)
                .arg("up")
                .env("TODO_CLUSTER_DIR", &dir)
                .env("TODO_CLUSTER_WATCH_PID", std::process::id().to_string()),
            None,
        );
        let stdout = String::from_utf8_lossy(&up.stdout);
        if !up.status.success() {
            return Err(format!(
                "cluster.sh up failed: {}",
                String::from_utf8_lossy(&up.stderr)
            ));
        }
        let kubeconfig = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        eprintln!(
            "e2e: cluster up ({})",
            String::from_utf8_lossy(&up.stderr).trim()
        );
        Ok(Self {
            script,
            dir,
            bin,
            kubeconfig,
        })
    }

    /// `kubectl` as the cluster admin.
    pub fn kubectl(&self) -> Command {
        let mut command = Command::new(self.bin.join("kubectl"));
        command.env("KUBECONFIG", &self.kubeconfig);
        command
    }

    /// The kstatus verdict (`Current`, `InProgress`, `Failed`, ...) of an object. Every object asked about is
    /// kept in [`KSTATUS_SAMPLES`] with its verdict, so other health checks can be compared on real objects.
    pub fn kstatus(&self, object: &Value) -> String {
        let out = check(
            &mut Command::new(self.bin.join("kstatus")),
            Some(&object.to_string()),
        );
        let verdict: Value = serde_json::from_str(&out).expect("kstatus prints JSON");
        let verdict = verdict["status"].as_str().unwrap_or_default().to_owned();
        KSTATUS_SAMPLES
            .lock()
            .expect("samples lock")
            .push((object.clone(), verdict.clone()));
        verdict
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = run(
            Command::new("bash")
                .arg(&self.script)
                .arg("down")
                .env("TODO_CLUSTER_DIR", &self.dir),
            None,
        );
    }
}

/// Objects the scenarios asked kstatus about, with its verdicts.
pub static KSTATUS_SAMPLES: Mutex<Vec<(Value, String)>> = Mutex::new(Vec::new());

/// The operator binary of this checkout. A test can only depend on another package's library, so the
/// binary is built here (a no-op when `cargo test --workspace` already built it): a stale binary would
/// test old code.
fn operator_binary() -> PathBuf {
    crate::common::cargo_build(&["-p", "todo-operator", "--bin", "todo-operator"])
        .unwrap_or_else(|e| panic!("{e}"))
        .join("todo-operator")
}

/// The operator as a process of this machine, authenticated with a token of the chart's ServiceAccount
/// (TokenRequest), so it holds exactly the chart's RBAC.
pub struct Operator {
    child: Child,
    /// Its log file.
    pub log: PathBuf,
    /// Its /metrics address.
    pub metrics: String,
}

impl Operator {
    /// Start the operator against `cluster` as the chart's ServiceAccount `account` in `namespace`, with
    /// extra arguments for `todo-operator run`.
    pub fn start(cluster: &Cluster, namespace: &str, account: &str, extra: &[&str]) -> Self {
        let token = check(
            cluster.kubectl().args([
                "create",
                "token",
                account,
                "-n",
                namespace,
                "--duration",
                "4h",
            ]),
            None,
        );
        let kubeconfig = cluster.dir.join(format!("operator-{namespace}.kubeconfig"));
        let server = check(
            cluster.kubectl().args([
                "config",
                "view",
                "--minify",
                "-o",
                "jsonpath={.clusters[0].cluster.server}",
            ]),
            None,
        );
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\nusers:\n- name: operator\n  user:\n    token: {token}\ncontexts:\n- name: operator\n  context: {{cluster: c, user: operator}}\ncurrent-context: operator\n",
                ca = cluster.dir.join("pki/ca.crt").display(),
                token = token.trim(),
            ),
        )
        .expect("operator kubeconfig written");
        let port = free_port();
        let log = cluster.dir.join(format!("operator-{namespace}.log"));
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("operator log opens");
        let child = Command::new(operator_binary())
            .arg("run")
            .args([
                "--http-addr",
                &format!("127.0.0.1:{port}"),
                "--lease-namespace",
                namespace,
                "--identity",
                "e2e",
                "--log-format",
                "text",
            ])
            .args(extra)
            .env("KUBECONFIG", &kubeconfig)
            .env("RUST_LOG", "info,kube=warn")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log handle"))
            .stderr(log_file)
            .spawn()
            .expect("operator starts");
        Self {
            child,
            log,
            metrics: format!("127.0.0.1:{port}"),
        }
    }

    /// Stop the operator the way Kubernetes does (SIGTERM), then wait for it.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The last lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Its /metrics page (empty when it does not answer).
    pub fn metrics_text(&self) -> String {
        http_get(&self.metrics, "/metrics").unwrap_or_default()
    }

    /// Its resident memory, KiB.
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// A counter from its /metrics (summed over labels), 0 when absent.
    pub fn metric(&self, name: &str) -> f64 {
        metric_value(&self.metrics_text(), name)
    }
}

/// A metric in Prometheus text, summed over its labels; 0 when absent.
pub fn metric_value(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.stop();
    }
}

fn http_get(address: &str, path: &str) -> std::io::Result<String> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default())
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `helm install` the chart as a user does, waiting until the operator's (fake) pods are ready.
pub fn helm_install(cluster: &Cluster, release: &str, namespace: &str, values: &[&str]) {
    let mut command = Command::new(tool("helm").expect("helm"));
    command
        .args([
            "install",
            release,
            "charts/todo-operator",
            "--namespace",
            namespace,
            "--create-namespace",
            "--set",
            "replicaCount=1",
            "--wait",
            "--timeout",
            "2m",
        ])
        .env("KUBECONFIG", &cluster.kubeconfig)
        .current_dir(repo());
    for value in values {
        command.args(["--set", value]);
    }
    check(&mut command, None);
}

/// Everything the scenarios share.
pub struct Suite {
    /// The control plane.
    pub cluster: Cluster,
    /// The running operator (restartable).
    pub operator: Mutex<Operator>,
    /// A client with the admin's rights, for reading state back.
    pub client: Client,
    runtime: tokio::runtime::Runtime,
}

impl Suite {
    /// Bring everything up: the cluster, the chart, the operator.
    pub fn start() -> Result<Self, String> {
        tool("helm").ok_or("helm not found (.ci/setup-operator.sh installs it)")?;
        let cluster = Cluster::up()?;
        helm_install(&cluster, RELEASE, OPERATOR_NAMESPACE, &[]);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let client = runtime.block_on(async {
            let config = Config::from_custom_kubeconfig(
                kube::config::Kubeconfig::read_from(&cluster.kubeconfig).expect("kubeconfig"),
                &kube::config::KubeConfigOptions::default(),
            )
            .await
            .expect("admin kubeconfig");
            Client::try_from(config).expect("client")
        });
        let operator = Operator::start(&cluster, OPERATOR_NAMESPACE, RELEASE, &[]);
        Ok(Self {
            cluster,
            operator: Mutex::new(operator),
            client,
            runtime,
        })
    }

    /// Run a scenario's async body.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// `kubectl` as the cluster admin.
    pub fn kubectl(&self) -> Command {
        self.cluster.kubectl()
    }

    /// Restart the operator (same token, same RBAC).
    pub fn restart_operator(&self) {
        let mut operator = self.operator.lock().expect("operator lock");
        operator.stop();
        *operator = Operator::start(&self.cluster, OPERATOR_NAMESPACE, RELEASE, &[]);
    }

    /// Apply YAML as a user would (`kubectl apply --server-side`), panicking with kubectl's message on error.
    pub fn apply(&self, yaml: &str) {
        check(
            self.kubectl().args([
                "apply",
                "--server-side",
                "--field-manager",
                "e2e",
                "-f",
                "-",
            ]),
            Some(yaml),
        );
    }

    /// `kubectl patch --type merge` of the TodoPlatform `todo` in `namespace`, as a user edits it.
    pub fn patch_platform(&self, namespace: &str, patch: &Value) {
        check(
            self.kubectl().args([
                "patch",
                "todoplatform",
                "todo",
                "-n",
                namespace,
                "--type",
                "merge",
                "-p",
                &patch.to_string(),
            ]),
            None,
        );
    }

    /// Create a namespace for one scenario.
    pub fn namespace(&self, name: &str) {
        check(self.kubectl().args(["create", "namespace", name]), None);
    }

    /// Create a generic Secret with string data.
    pub fn secret(&self, namespace: &str, name: &str, data: &[(&str, &str)]) {
        let mut command = self.kubectl();
        command.args(["create", "secret", "generic", name, "-n", namespace]);
        for (key, value) in data {
            command.arg(format!("--from-literal={key}={value}"));
        }
        check(&mut command, None);
    }

    /// A TodoPlatform's JSON as the API server has it.
    pub fn get_json(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let output = run(
            self.kubectl()
                .args(["get", kind, name, "-n", namespace, "-o", "json"]),
            None,
        );
        output
            .status
            .success()
            .then(|| serde_json::from_slice(&output.stdout).expect("kubectl prints JSON"))
    }

    /// Wait until `probe` returns `Some`, polling the cluster; panics with `what` and the operator log on timeout.
    pub async fn eventually<T, F, Fut>(&self, what: &str, timeout: Duration, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = probe().await {
                return value;
            }
            if Instant::now() > deadline {
                let log = self.operator.lock().expect("operator lock").log_tail(40);
                panic!(
                    "timed out after {timeout:?} waiting for {what}\n--- operator log ---\n{log}"
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The platform, once its status satisfies `check` within [`WAIT`] (the status is printed on timeout).
    pub async fn platform_where(
        &self,
        namespace: &str,
        name: &str,
        what: &str,
        check: impl Fn(&TodoPlatform) -> bool,
    ) -> TodoPlatform {
        self.platform_within(WAIT, namespace, name, what, check)
            .await
    }

    /// The platform, once its status satisfies `check` within `timeout`.
    pub async fn platform_within(
        &self,
        timeout: Duration,
        namespace: &str,
        name: &str,
        what: &str,
        check: impl Fn(&TodoPlatform) -> bool,
    ) -> TodoPlatform {
        let api: Api<TodoPlatform> = Api::namespaced(self.client.clone(), namespace);
        let last = Mutex::new(None);
        let found = tokio::time::timeout(timeout, async {
            loop {
                if let Ok(platform) = api.get(name).await {
                    if check(&platform) {
                        return platform;
                    }
                    *last.lock().expect("lock") = Some(platform);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| {
            let status = last
                .lock()
                .expect("lock")
                .as_ref()
                .and_then(|p| serde_json::to_string_pretty(&p.status).ok())
                .unwrap_or_default();
            let log = self.operator.lock().expect("operator lock").log_tail(40);
            panic!(
                "{namespace}/{name}: timed out waiting for {what}; last status:\n{status}\n--- operator log ---\n{log}"
            )
        })
    }

    /// The children of a platform of every kind the operator may create, found by its instance label.
    pub async fn children(&self, namespace: &str, instance: &str) -> Vec<DynamicObject> {
        let params =
            ListParams::default().labels(&format!("app.kubernetes.io/instance={instance}"));
        let mut out = Vec::new();
        for (group, version, kind) in CHILD_KINDS {
            let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.client.clone(), namespace, &resource);
            // Optional kinds (Dapr, Redpanda, Prometheus) are absent from clusters without their CRDs.
            if let Ok(list) = api.list(&params).await {
                out.extend(list.items.into_iter().map(|mut object| {
                    object.types = Some(kube::core::TypeMeta {
                        api_version: resource.api_version.clone(),
                        kind: resource.kind.clone(),
                    });
                    object
                }));
            }
        }
        out
    }
}

/// Every namespaced kind a TodoPlatform can own.
pub const CHILD_KINDS: [(&str, &str, &str); 20] = [
    ("", "v1", "ConfigMap"),
    ("", "v1", "Secret"),
    ("", "v1", "ServiceAccount"),
    ("", "v1", "Service"),
    ("rbac.authorization.k8s.io", "v1", "Role"),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding"),
    ("apps", "v1", "Deployment"),
    ("apps", "v1", "StatefulSet"),
    ("batch", "v1", "Job"),
    ("autoscaling", "v2", "HorizontalPodAutoscaler"),
    ("policy", "v1", "PodDisruptionBudget"),
    ("networking.k8s.io", "v1", "Ingress"),
    ("networking.k8s.io", "v1", "NetworkPolicy"),
    ("dapr.io", "v1alpha1", "Component"),
    ("dapr.io", "v2alpha1", "Subscription"),
    ("dapr.io", "v1alpha1", "Configuration"),
    ("dapr.io", "v1alpha1", "Resiliency"),
    ("cluster.redpanda.com", "v1alpha2", "Topic"),
    ("monitoring.coreos.com", "v1", "ServiceMonitor"),
    ("monitoring.coreos.com", "v1", "PrometheusRule"),
];

/// A condition of a platform's status.
pub fn condition<'a>(platform: &'a TodoPlatform, type_: &str) -> Option<&'a Condition> {
    platform
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
}

/// Whether condition `type_` has `status` ("True"/"False").
pub fn has(platform: &TodoPlatform, type_: &str, status: &str) -> bool {
    condition(platform, type_).is_some_and(|c| c.status == status)
}

/// Whether the status describes the current generation.
pub fn observed_current(platform: &TodoPlatform) -> bool {
    let generation = platform.metadata.generation;
    platform
        .status
        .as_ref()
        .is_some_and(|s| s.observed_generation == generation)
}

/// Ready=True for the current generation.
pub fn ready(platform: &TodoPlatform) -> bool {
    observed_current(platform) && has(platform, "Ready", "True")
}

/// A TodoPlatform manifest from an example file, moved to `namespace` and renamed `name`.
pub fn example(path: &str, namespace: &str, name: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(path)).expect("example readable");
    let mut platform: Value = serde_yaml::from_str(&text).expect("example parses");
    platform["metadata"]["namespace"] = namespace.into();
    platform["metadata"]["name"] = name.into();
    platform
}
