//! The platform under test, its real parts and the test's own instruments.
//!
//! Real: Apache Kafka (one KRaft broker, `.ci/kafka.sh`), PostgreSQL (`scripts/postgres.sh`), daprd built from
//! upstream (`tests/dapr/daprd.sh`), `todo-api` and `todo-worker` of this checkout, aiosmtpd as the mail
//! server. The test's instruments: a webhook receiver, an OTLP trace receiver (`otlp`), and a "tap" — an app
//! of the test with its own daprd and its own Kafka component and consumer group, which subscribes to topics
//! the platform writes (to read dead letters back and to see the order events arrive in) and publishes what
//! no app of ours would (a poison event).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Value, json};
use todo_operator::build::{self, BuildInputs, GeneratedSecrets};
use todo_operator::names::Stream;
use todo_operator::topics::{KafkaAdmin, TopicAdmin};
use todo_pipeline::standalone::{self, App, Inputs, Plan, Process};
use tokio::process::{Child, Command};

use crate::common;
use crate::kafka_broker;
use crate::otlp::OtlpReceiver;

pub const NAMESPACE: &str = "pipeline";
pub const WEBHOOK_SECRET: &str = "pipeline-webhook-secret";
const TAP_APP_ID: &str = "pipeline-tap";
const TAP_PUBSUB: &str = "tap";

/// The repository root.
pub fn repo() -> PathBuf {
    common::repo_root()
}

/// A free 127.0.0.1 port for a process started later. Taken below the kernel's ephemeral range (32768 and
/// up by default): a port from `bind(0)` is free only until the next outgoing connection, and the suite opens
/// hundreds, so daprd once found its gRPC port taken by one. Ports are handed out once per run, from a
/// random start, and only if they can be bound now.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    const FIRST: u16 = 20_000;
    const LAST: u16 = 32_000;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        FIRST + rand::random::<u16>() % (LAST - FIRST - 2_000),
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let port = NEXT.fetch_add(1, Ordering::SeqCst);
        assert!(port < LAST, "no free port left below {LAST}");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Poll `check` every 100 ms until it returns `Some`, or panic naming `what` after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A binary of this checkout, built here (a no-op when `cargo test --workspace` already built it): a test
/// can only depend on another package's library, and a stale binary would test old code.
fn workspace_binaries() -> Result<PathBuf, String> {
    common::cargo_build(&[
        "-p",
        "todo-api",
        "--bin",
        "todo-api",
        "-p",
        "todo-worker",
        "--bin",
        "todo-worker",
    ])
}

/// daprd as built by `tests/dapr/daprd.sh`.
fn daprd() -> Result<PathBuf, String> {
    let out = std::process::Command::new("bash")
        .arg(repo().join("tests/dapr/daprd.sh"))
        .arg("bin")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err("daprd is not built (`bash tests/dapr/daprd.sh build` builds it)".into());
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("daprd"))
}

fn aiosmtpd_installed() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A child process whose output goes to a log file; killed on drop.
pub struct Running {
    child: Child,
    pub log: PathBuf,
}

impl Running {
    pub fn spawn(
        program: &Path,
        args: &[String],
        env: &BTreeMap<String, String>,
        log: PathBuf,
    ) -> Running {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open log");
        let child = Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log handle"))
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        Running { child, log }
    }

    /// `kill -9`, and wait for it.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGTERM, then wait for the exit.
    pub async fn terminate(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
        let _ = self.child.kill().await;
    }
}

/// The last `lines` lines of a log file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// One app of the platform and its sidecar, as processes.
pub struct AppProcesses {
    pub app: App,
    pub process: Option<Running>,
    pub daprd: Option<Running>,
}

/// The running platform and everything around it.
pub struct Platform {
    pub dir: PathBuf,
    pub plan: Plan,
    bin: PathBuf,
    daprd: PathBuf,
    pub apps: tokio::sync::Mutex<Vec<AppProcesses>>,
    pub api_url: String,
    pub http: reqwest::Client,
    pub smtp: Smtp,
    pub webhook: Webhook,
    pub otlp: OtlpReceiver,
    pub tap: Tap,
    /// By stream (`task-events`, ...): (topic, dead-letter topic).
    pub topics: BTreeMap<&'static str, (String, String)>,
    pub broker: &'static kafka_broker::Broker,
    database: (String, String),
}

impl Platform {
    /// Start everything, or say what is missing.
    pub async fn start() -> Result<Platform, String> {
        let daprd = daprd()?;
        if !aiosmtpd_installed() {
            return Err("aiosmtpd is not installed (pip install aiosmtpd)".into());
        }
        let broker = kafka_broker::shared("pipeline")
            .await
            .ok_or("Apache Kafka is not installed (`bash .ci/kafka.sh`)")?;
        let database = create_database().await?;
        let bin = workspace_binaries()?;
        let dir =
            std::env::temp_dir().join(format!("todo-pipeline-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;

        let smtp = Smtp::start(&dir).await;
        let webhook = Webhook::start().await;
        let otlp = OtlpReceiver::start().await;
        let brokers = broker.plaintext().brokers;
        let manifest = json!({
            "apiVersion": "todoplatform.dev/v1alpha1",
            "kind": "TodoPlatform",
            "metadata": { "name": "todo", "namespace": NAMESPACE, "uid": "5e1f0000-0000-4000-8000-000000000001" },
            "spec": {
                "database": { "external": { "urlSecretRef": { "name": "todo-database", "key": "url" } } },
                "eventing": { "external": { "brokers": brokers }, "topics": { "partitions": 3 } },
                "reminders": { "schedule": "@every 1s" },
                // Traces only where a caller asks (a sampled `traceparent`): the scenarios and the
                // benchmark run as untraced as they were, while the tracing scenario is followed end to end.
                // Over gRPC, the protocol's default, from daprd and the apps alike.
                "dapr": { "tracing": { "otlpEndpoint": otlp.endpoint, "samplingRate": "0.0001" } },
                "notifications": {
                    "smtp": { "urlSecretRef": { "name": "todo-smtp", "key": "url" }, "from": "Todo <todo@example.com>" },
                    "webhook": {
                        "url": webhook.url,
                        "signingSecretRef": { "name": "todo-webhook", "key": "secret" },
                    },
                },
            },
        });
        let platform =
            serde_json::from_value(manifest).map_err(|e| format!("TodoPlatform: {e}"))?;
        let inputs = BuildInputs {
            default_version: todo_operator::VERSION.to_owned(),
            generated: GeneratedSecrets {
                jwt_secret: random_token(),
                postgres_password: random_token(),
                app_token: random_token(),
            },
            referenced_secret_versions: BTreeMap::new(),
        };
        let desired = build::build(&platform, &inputs).map_err(|e| e.to_string())?;
        let secrets = [
            secret("todo-database", "url", &database.1),
            secret("todo-smtp", "url", &smtp.url),
            secret("todo-webhook", "secret", WEBHOOK_SECRET),
        ];
        let plan = standalone::translate(
            &Inputs {
                desired: &desired,
                secrets: &secrets,
                dir: &dir,
            },
            &mut free_port,
        )?;
        for (path, contents) in &plan.files {
            std::fs::create_dir_all(path.parent().expect("files live in a directory"))
                .map_err(|e| e.to_string())?;
            std::fs::write(path, contents).map_err(|e| e.to_string())?;
        }

        // The operator provisions the topics before the apps start; so does the suite, with the operator's
        // provisioner.
        KafkaAdmin::default()
            .ensure(&broker.plaintext(), &desired.topics.topics)
            .await
            .map_err(|e| format!("topics: {e}"))?;
        let names = todo_operator::names::Names::new("todo", NAMESPACE);
        let topics = Stream::ALL
            .into_iter()
            .map(|s| (s.base(), (names.topic(s), names.dead_letter_topic(s))))
            .collect();

        // The migration Job runs to completion before any app starts.
        for (n, migration) in plan.migrations.iter().enumerate() {
            let log = dir.join(format!("migrate-{n}.log"));
            let mut run = Running::spawn(
                &bin.join(&migration.binary),
                &migration.args,
                &migration.env,
                log.clone(),
            );
            let status = run.child.wait().await.map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!(
                    "{} migrate failed:\n{}",
                    migration.binary,
                    tail(&log, 30)
                ));
            }
        }

        let tap = Tap::start(&dir, &daprd, &brokers, &topics).await;
        let api_url = format!("http://127.0.0.1:{}", plan.apps[0].port);
        let platform = Platform {
            apps: tokio::sync::Mutex::new(
                plan.apps
                    .iter()
                    .map(|app| AppProcesses {
                        app: app.clone(),
                        process: None,
                        daprd: None,
                    })
                    .collect(),
            ),
            dir,
            plan,
            bin,
            daprd,
            api_url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(|e| e.to_string())?,
            smtp,
            webhook,
            otlp,
            tap,
            topics,
            broker,
            database,
        };
        let ids: Vec<String> = platform
            .plan
            .apps
            .iter()
            .map(|a| a.app_id.clone())
            .collect();
        for id in &ids {
            platform.start_app(id).await;
        }
        for id in &ids {
            platform.start_sidecar(id).await;
        }
        for id in &ids {
            platform.wait_ready(id).await;
        }
        Ok(platform)
    }

    /// The app-id of the API or of a worker role (`audit`, `notifier`, ...).
    pub fn app_id(&self, role: &str) -> String {
        let api = &self.plan.apps[0].app_id;
        if role == "api" {
            api.clone()
        } else {
            self.plan
                .apps
                .iter()
                .map(|a| &a.app_id)
                .find(|id| id.ends_with(&format!("-{role}")))
                .unwrap_or_else(|| panic!("no worker role {role}"))
                .clone()
        }
    }

    fn app_of<'a>(apps: &'a mut [AppProcesses], id: &str) -> &'a mut AppProcesses {
        apps.iter_mut()
            .find(|a| a.app.app_id == id)
            .unwrap_or_else(|| panic!("no app {id}"))
    }

    /// Start the app process of `id`.
    pub async fn start_app(&self, id: &str) {
        let mut apps = self.apps.lock().await;
        let entry = Self::app_of(&mut apps, id);
        let Process { binary, args, env } = &entry.app.process;
        let mut env = env.clone();
        env.insert("RUST_LOG".into(), "info".into());
        entry.process = Some(Running::spawn(
            &self.bin.join(binary),
            args,
            &env,
            self.dir.join(format!("{id}.log")),
        ));
    }

    /// Start the daprd beside `id`.
    pub async fn start_sidecar(&self, id: &str) {
        let mut apps = self.apps.lock().await;
        let entry = Self::app_of(&mut apps, id);
        entry.daprd = Some(Running::spawn(
            &self.daprd,
            &entry.app.daprd_args,
            &entry.app.daprd_env,
            self.dir.join(format!("{id}.daprd.log")),
        ));
    }

    /// Wait until the app answers `/readyz` and its sidecar `/v1.0/healthz`.
    pub async fn wait_ready(&self, id: &str) {
        let (port, dapr) = {
            let apps = self.apps.lock().await;
            let app = &apps
                .iter()
                .find(|a| a.app.app_id == id)
                .expect("known app")
                .app;
            (app.port, app.dapr_http_port)
        };
        let http = self.http.clone();
        eventually(
            Duration::from_secs(90),
            &format!("{id} and its daprd to be ready"),
            || {
                let http = http.clone();
                async move {
                    let app = http
                        .get(format!("http://127.0.0.1:{port}/readyz"))
                        .send()
                        .await
                        .ok()?;
                    let sidecar = http
                        .get(format!("http://127.0.0.1:{dapr}/v1.0/healthz"))
                        .send()
                        .await
                        .ok()?;
                    (app.status().is_success() && sidecar.status().is_success()).then_some(())
                }
            },
        )
        .await;
    }

    /// The app's log file.
    pub async fn app_log(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.log"))
    }

    /// `kill -9` the app `id` (its sidecar stays).
    pub async fn kill_app(&self, id: &str) {
        let mut apps = self.apps.lock().await;
        if let Some(p) = Self::app_of(&mut apps, id).process.as_mut() {
            p.kill().await;
        }
    }

    /// Stop the sidecar of `id` with SIGTERM, as Kubernetes does.
    pub async fn stop_sidecar(&self, id: &str) {
        let mut apps = self.apps.lock().await;
        if let Some(p) = Self::app_of(&mut apps, id).daprd.as_mut() {
            p.terminate().await;
        }
    }

    /// Every log, last lines first of each, for a failure report.
    pub async fn logs(&self, lines: usize) -> String {
        let apps = self.apps.lock().await;
        let mut out = String::new();
        for entry in apps.iter() {
            for run in entry.process.iter().chain(entry.daprd.iter()) {
                out.push_str(&format!(
                    "--- {} ---\n{}\n",
                    run.log.display(),
                    tail(&run.log, lines)
                ));
            }
        }
        out.push_str(&format!(
            "--- tap daprd ---\n{}\n",
            tail(&self.tap.daprd.log, lines)
        ));
        out
    }

    /// A metric of an app's `/metrics` (sum over label sets), 0 when absent.
    pub async fn metric(&self, id: &str, name: &str) -> f64 {
        let port = {
            let apps = self.apps.lock().await;
            apps.iter()
                .find(|a| a.app.app_id == id)
                .expect("known app")
                .app
                .port
        };
        let Ok(resp) = self
            .http
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
        else {
            return 0.0;
        };
        let text = resp.text().await.unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Sign up a new user; returns its bearer token.
    pub async fn signup(&self, email: &str, time_zone: &str) -> String {
        self.signup_at(&self.api_url, email, time_zone).await
    }

    /// Sign up a new user at the API at `api_url`.
    pub async fn signup_at(&self, api_url: &str, email: &str, time_zone: &str) -> String {
        let r = self
            .http
            .post(format!("{api_url}/api/v1/auth/signup"))
            .json(&json!({ "email": email, "password": "password123", "time_zone": time_zone }))
            .send()
            .await
            .expect("signup");
        assert_eq!(r.status().as_u16(), 201, "signup");
        let body: Value = r.json().await.expect("signup body");
        body["token"].as_str().expect("a token").to_owned()
    }

    /// Call the API as `token`; returns (status, JSON body or Null).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.api_url))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("API call");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Stop every process and drop the database; remove the logs too unless they are to be kept (a failure
    /// names them).
    pub async fn cleanup(&self, keep_logs: bool) {
        for entry in self.apps.lock().await.iter_mut() {
            for run in entry.process.iter_mut().chain(entry.daprd.iter_mut()) {
                run.kill().await;
            }
        }
        drop_database(&self.database.0).await;
        if !keep_logs {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// A Secret of the platform's namespace with one key.
pub fn secret(name: &str, key: &str, value: &str) -> Secret {
    Secret {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(name.into()),
            namespace: Some(NAMESPACE.into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            key.to_owned(),
            ByteString(value.as_bytes().to_vec()),
        )])),
        ..Default::default()
    }
}

/// The PostgreSQL server's admin URL (as the other suites: `TODO_TEST_POSTGRES_URL`).
fn admin_url() -> String {
    std::env::var("TODO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Drop a database made by [`create_database`].
pub async fn drop_database(name: &str) {
    use sqlx::Connection;
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}

/// A fresh PostgreSQL database: (name, URL).
pub async fn create_database() -> Result<(String, String), String> {
    use sqlx::Connection;
    let admin = admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin).await.map_err(|e| {
        format!("PostgreSQL at {admin}: {e} (`bash scripts/postgres.sh` starts it)")
    })?;
    let name = format!("todo_pipeline_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Ok((name.clone(), format!("{base}/{name}")))
}

/// aiosmtpd writing every message to a Maildir.
pub struct Smtp {
    server: tokio::sync::Mutex<Option<Running>>,
    port: u16,
    pub url: String,
    maildir: PathBuf,
    log: PathBuf,
}

impl Smtp {
    async fn start(dir: &Path) -> Smtp {
        let port = free_port();
        let smtp = Smtp {
            server: tokio::sync::Mutex::new(None),
            port,
            url: format!("smtp://127.0.0.1:{port}"),
            maildir: dir.join("mail"),
            log: dir.join("smtp.log"),
        };
        smtp.resume().await;
        smtp
    }

    /// Stop the mail server (connections are refused until [`Smtp::resume`]).
    pub async fn stop(&self) {
        if let Some(mut server) = self.server.lock().await.take() {
            server.kill().await;
        }
    }

    /// Start the mail server on its port, keeping the messages received so far.
    pub async fn resume(&self) {
        let server = Running::spawn(
            Path::new("python3"),
            &[
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ]
            .map(str::to_owned)
            .into_iter()
            .chain([self.maildir.display().to_string()])
            .collect::<Vec<_>>(),
            &BTreeMap::new(),
            self.log.clone(),
        );
        *self.server.lock().await = Some(server);
        let port = self.port;
        eventually(
            Duration::from_secs(15),
            "aiosmtpd to accept connections",
            || async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .ok()
                    .map(|_| ())
            },
        )
        .await;
    }

    /// Every message received so far, raw.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .collect()
    }

    /// Messages to `address`.
    pub fn to(&self, address: &str) -> Vec<String> {
        self.messages()
            .into_iter()
            .filter(|m| {
                m.lines()
                    .any(|l| l.starts_with("To:") && l.contains(address))
            })
            .collect()
    }
}

/// One webhook request: headers and body.
#[derive(Clone, Debug)]
pub struct Hook {
    pub headers: HeaderMap,
    pub body: String,
}

/// Receives the platform's reminder webhooks.
pub struct Webhook {
    pub url: String,
    received: Arc<Mutex<Vec<Hook>>>,
}

impl Webhook {
    async fn start() -> Webhook {
        let received: Arc<Mutex<Vec<Hook>>> = Arc::default();
        let app =
            Router::new()
                .route(
                    "/hook",
                    post(
                        |State(r): State<Arc<Mutex<Vec<Hook>>>>,
                         headers: HeaderMap,
                         body: String| async move {
                            r.lock().expect("webhook lock").push(Hook { headers, body });
                            axum::http::StatusCode::NO_CONTENT
                        },
                    ),
                )
                .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Webhook { url, received }
    }

    pub fn received(&self) -> Vec<Hook> {
        self.received.lock().expect("webhook lock").clone()
    }
}

/// What the tap received on each topic, in arrival order, with the moment it arrived.
type Received = Arc<Mutex<BTreeMap<String, Vec<(jiff::Timestamp, Value)>>>>;

/// The test's own Dapr app: subscribes to the platform's topics with its own consumer group and publishes
/// through its own component.
pub struct Tap {
    daprd: Running,
    dapr_http_port: u16,
    received: Received,
}

impl Tap {
    async fn start(
        dir: &Path,
        daprd: &Path,
        brokers: &[String],
        topics: &BTreeMap<&'static str, (String, String)>,
    ) -> Tap {
        let received: Received = Arc::default();
        let subscribed: Vec<String> = topics
            .values()
            .flat_map(|(topic, dead)| [topic.clone(), dead.clone()])
            .collect();
        let subscriptions: Vec<Value> = subscribed
            .iter()
            .map(|topic| json!({ "pubsubname": TAP_PUBSUB, "topic": topic, "route": format!("/received/{topic}") }))
            .collect();
        let app =
            Router::new()
                .route(
                    "/dapr/subscribe",
                    get(move || async move { axum::Json(subscriptions) }),
                )
                .route(
                    "/received/{topic}",
                    post(
                        |State(r): State<Received>,
                         UrlPath(topic): UrlPath<String>,
                         body: Bytes| async move {
                            let arrived = jiff::Timestamp::now();
                            let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            r.lock()
                                .expect("tap lock")
                                .entry(topic)
                                .or_default()
                                .push((arrived, event));
                            axum::Json(json!({ "status": "SUCCESS" }))
                        },
                    ),
                )
                .route("/healthz", get(|| async { "ok" }))
                .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let app_port = listener.local_addr().expect("address").port();
        tokio::spawn(async move { axum::serve(listener, app).await });

        let resources = dir.join("tap-resources");
        std::fs::create_dir_all(&resources).expect("tap resources");
        let component = json!({
            "apiVersion": "dapr.io/v1alpha1",
            "kind": "Component",
            "metadata": { "name": TAP_PUBSUB, "namespace": NAMESPACE },
            "spec": {
                "type": "pubsub.kafka",
                "version": "v1",
                "metadata": [
                    { "name": "brokers", "value": brokers.join(",") },
                    { "name": "consumerGroup", "value": "pipeline-tap" },
                    { "name": "initialOffset", "value": "oldest" },
                    { "name": "authType", "value": "none" },
                    { "name": "disableTls", "value": "true" },
                ],
            },
            "scopes": [TAP_APP_ID],
        });
        std::fs::write(
            resources.join("tap.yaml"),
            serde_yaml::to_string(&component).expect("yaml"),
        )
        .expect("write");
        let dapr_http_port = free_port();
        let args: Vec<String> = [
            "--mode",
            "standalone",
            "--app-id",
            TAP_APP_ID,
            "--app-port",
            &app_port.to_string(),
            "--dapr-listen-addresses",
            "127.0.0.1",
            "--dapr-http-port",
            &dapr_http_port.to_string(),
            "--dapr-grpc-port",
            &free_port().to_string(),
            "--dapr-internal-grpc-port",
            &free_port().to_string(),
            "--metrics-port",
            &free_port().to_string(),
            "--metrics-listen-address",
            "127.0.0.1",
            "--resources-path",
            &resources.display().to_string(),
        ]
        .map(str::to_owned)
        .to_vec();
        let env = BTreeMap::from([
            ("NAMESPACE".to_owned(), NAMESPACE.to_owned()),
            ("DAPR_HOST_IP".to_owned(), "127.0.0.1".to_owned()),
        ]);
        let daprd = Running::spawn(daprd, &args, &env, dir.join("tap.daprd.log"));
        let http = reqwest::Client::new();
        eventually(
            Duration::from_secs(90),
            "the tap's daprd to be ready",
            || {
                let http = http.clone();
                async move {
                    let r = http
                        .get(format!("http://127.0.0.1:{dapr_http_port}/v1.0/healthz"))
                        .send()
                        .await
                        .ok()?;
                    r.status().is_success().then_some(())
                }
            },
        )
        .await;
        Tap {
            daprd,
            dapr_http_port,
            received,
        }
    }

    /// What arrived on `topic`, in order.
    pub fn received(&self, topic: &str) -> Vec<Value> {
        self.arrivals(topic)
            .into_iter()
            .map(|(_, event)| event)
            .collect()
    }

    /// What arrived on `topic`, in order, with when.
    pub fn arrivals(&self, topic: &str) -> Vec<(jiff::Timestamp, Value)> {
        self.received
            .lock()
            .expect("tap lock")
            .get(topic)
            .cloned()
            .unwrap_or_default()
    }

    /// How many events arrived on `topic`.
    pub fn count(&self, topic: &str) -> usize {
        self.received
            .lock()
            .expect("tap lock")
            .get(topic)
            .map_or(0, Vec::len)
    }

    /// Publish a CloudEvent as-is to `topic` with `partition_key`.
    pub async fn publish(&self, topic: &str, partition_key: &str, event: &Value) {
        let r = reqwest::Client::new()
            .post(format!(
                "http://127.0.0.1:{}/v1.0/publish/{TAP_PUBSUB}/{topic}?metadata.partitionKey={partition_key}",
                self.dapr_http_port
            ))
            .header("content-type", "application/cloudevents+json")
            .body(event.to_string())
            .send()
            .await
            .expect("publish through the tap's daprd");
        assert!(
            r.status().is_success(),
            "tap publish answered {}",
            r.status()
        );
    }
}
