//! A real Apache Kafka for tests: one single-node KRaft broker per test binary, shared by its
//! tests, from the jars `.ci/kafka.sh` installs. Two listeners on free 127.0.0.1 ports:
//! PLAINTEXT, and SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 users and a server
//! certificate from a test CA generated here with `openssl`.
//!
//! The broker runs under a small `sh` supervisor whose stdin is a pipe from this process: when
//! the pipe closes (the broker handle is dropped, or the test binary exits, which never drops a
//! static) the supervisor kills the JVM and removes its directory. A broker that dies on its own
//! keeps its directory, so its log can be read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use todo_operator::crd::SaslMechanism;
use todo_operator::topics::{KafkaAdmin, KafkaCluster, KafkaTls, SaslCredentials};
use tokio::sync::OnceCell;

use crate::common;

/// The SASL users the broker knows: (mechanism, user, password).
const USERS: [(SaslMechanism, &str, &str); 3] = [
    (SaslMechanism::Plain, "plain-user", "plain-secret"),
    (
        SaslMechanism::ScramSha256,
        "scram256-user",
        "scram256-secret",
    ),
    (
        SaslMechanism::ScramSha512,
        "scram512-user",
        "scram512-secret",
    ),
];

/// How long the broker may take to answer after start (typically 10-15 s on 2 cores).
const READY_WITHIN: Duration = Duration::from_secs(90);

/// A running broker; dropping it stops the broker.
pub struct Broker {
    supervisor: Child,
    dir: PathBuf,
    stdin: Option<ChildStdin>,
    plaintext: String,
    sasl_ssl: String,
    ca_pem: String,
    other_ca_pem: String,
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Closing the pipe makes the supervisor kill the JVM and clean up.
        drop(self.stdin.take());
        let _ = self.supervisor.wait();
    }
}

impl Broker {
    /// The PLAINTEXT listener.
    pub fn plaintext(&self) -> KafkaCluster {
        KafkaCluster::plaintext(vec![self.plaintext.clone()])
    }

    /// The SASL_SSL listener with the right user for `mechanism` and the test CA.
    pub fn sasl_ssl(&self, mechanism: SaslMechanism) -> KafkaCluster {
        let (user, password) = self.user(mechanism);
        self.sasl_ssl_as(mechanism, user, password, Some(self.ca_pem.clone()))
    }

    /// The user and password the broker knows for `mechanism`.
    pub fn user(&self, mechanism: SaslMechanism) -> (&'static str, &'static str) {
        USERS
            .into_iter()
            .find(|(m, _, _)| *m == mechanism)
            .map(|(_, user, password)| (user, password))
            .expect("every mechanism has a user")
    }

    /// The SASL_SSL listener with any credentials and CA bundle (`None`: system roots).
    pub fn sasl_ssl_as(
        &self,
        mechanism: SaslMechanism,
        username: &str,
        password: &str,
        ca_pem: Option<String>,
    ) -> KafkaCluster {
        KafkaCluster {
            brokers: vec![self.sasl_ssl.clone()],
            tls: Some(KafkaTls { ca_pem }),
            sasl: Some(SaslCredentials {
                mechanism,
                username: username.into(),
                password: password.into(),
            }),
        }
    }

    /// The test CA that signed the broker's certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A CA that did not sign the broker's certificate (PEM).
    pub fn other_ca_pem(&self) -> &str {
        &self.other_ca_pem
    }

    /// Restart the broker as an operator would (SIGTERM, a controlled shutdown, then a start on the same
    /// data and ports), and wait until it answers again.
    pub async fn restart(&self) {
        let pid_file = self.dir.join("broker.pid");
        let pid = std::fs::read_to_string(&pid_file).expect("the broker's pid");
        std::fs::write(self.dir.join("restart"), "").expect("mark the restart");
        let stopped = Command::new("kill")
            .arg(pid.trim())
            .status()
            .is_ok_and(|s| s.success());
        assert!(stopped, "SIGTERM to the broker");
        let started = Instant::now();
        while std::fs::read_to_string(&pid_file).unwrap_or_default() == pid {
            assert!(
                started.elapsed() < READY_WITHIN,
                "the broker did not restart"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let admin = KafkaAdmin::new(Duration::from_secs(5));
        while admin.describe(&self.plaintext(), &[], &[]).await.is_err() {
            assert!(
                started.elapsed() < READY_WITHIN,
                "the restarted broker does not answer"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The SASL_SSL listener's address.
    pub fn sasl_ssl_address(&self) -> &str {
        &self.sasl_ssl
    }
}

static BROKER: OnceCell<Result<Broker, String>> = OnceCell::const_new();

/// The broker of this test binary, started by the first test that asks. `None` (after printing
/// `SKIPPED` and why) when Kafka, Java or openssl is missing; under `CI` that fails the test.
pub async fn shared(test: &str) -> Option<&'static Broker> {
    match BROKER.get_or_init(start).await {
        Ok(broker) => Some(broker),
        Err(missing) => common::unavailable(test, missing),
    }
}

/// The pinned Kafka version: `KAFKA_VERSION=` in `.ci/kafka.sh`, the one place it is written.
fn pinned_version() -> String {
    let script = common::repo_root().join(".ci/kafka.sh");
    std::fs::read_to_string(&script)
        .expect(".ci/kafka.sh exists")
        .lines()
        .find_map(|line| line.strip_prefix("KAFKA_VERSION="))
        .map(|v| v.trim().to_owned())
        .expect(".ci/kafka.sh pins KAFKA_VERSION")
}

/// `$KAFKA_DIR`, else where `.ci/kafka.sh` installs the pinned version.
fn kafka_dir() -> Result<PathBuf, String> {
    let version = pinned_version();
    let dir = match std::env::var_os("KAFKA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("TODO_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|cache| {
                if std::env::var_os("TODO_CACHE_DIR").is_some() {
                    cache
                } else {
                    cache.join("todoplatform")
                }
            })
            .ok_or("neither TODO_CACHE_DIR nor HOME is set")?
            .join(format!("kafka-{version}")),
    };
    if dir.join(format!("libs/kafka_2.13-{version}.jar")).is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "Apache Kafka {version} is not installed in {} (`bash .ci/kafka.sh` installs it)",
            dir.display()
        ))
    }
}

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} starts: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`<name>.pem`, `<name>.key`) and, when `server` is set, a certificate for 127.0.0.1 and
/// localhost signed by it, with its unencrypted PKCS#8 key first in `server-keystore.pem` (the
/// layout of a Kafka PEM key store).
fn certificates(dir: &Path) {
    for ca in ["ca", "other-ca"] {
        run(
            dir,
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
                "-subj",
                &format!("/CN=TodoPlatform test {ca}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    }
    run(
        dir,
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write extensions");
    run(
        dir,
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
    run(
        dir,
        "openssl",
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            "server.key",
            "-out",
            "server.pk8",
        ],
    );
    let keystore = [
        std::fs::read_to_string(dir.join("server.pk8")).expect("key"),
        std::fs::read_to_string(dir.join("server.pem")).expect("certificate"),
    ]
    .concat();
    std::fs::write(dir.join("server-keystore.pem"), keystore).expect("write key store");
}

fn free_port() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free local port")
}

fn server_properties(dir: &Path, plaintext: u16, controller: u16, sasl_ssl: u16) -> String {
    let plain_users: String = USERS
        .iter()
        .filter(|(m, _, _)| *m == SaslMechanism::Plain)
        .map(|(_, user, password)| format!(" user_{user}=\"{password}\""))
        .collect();
    format!(
        "process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:{plaintext},CONTROLLER://127.0.0.1:{controller},SASL_SSL://127.0.0.1:{sasl_ssl}
advertised.listeners=PLAINTEXT://127.0.0.1:{plaintext},SASL_SSL://127.0.0.1:{sasl_ssl}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=PLAINTEXT
log.dirs={data}
auto.create.topics.enable=false
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required{plain_users};
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location={keystore}
",
        data = dir.join("data").display(),
        keystore = dir.join("server-keystore.pem").display(),
    )
}

const LOG4J2: &str = "rootLogger.level=INFO
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
";

/// Kills the JVM (`$@`) when stdin closes; see the module documentation. When the JVM exits while a
/// file `restart` exists in the directory (see [`Broker::restart`]), it starts it again.
const SUPERVISOR: &str = r#"dir=$1; shift
exec 3<&0
{ read -r _ <&3; : >"$dir/closing"; pid=$(cat "$dir/broker.pid"); kill -9 "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -rf "$dir"; } &
while :; do
  "$@" >>"$dir/broker.log" 2>&1 &
  echo $! >"$dir/broker.pid"
  wait $!
  [ -e "$dir/restart" ] && [ ! -e "$dir/closing" ] || break
  rm -f "$dir/restart"
done
"#;

fn java_command(libs: &Path, dir: &Path) -> Vec<String> {
    vec![
        "java".into(),
        // A short-lived test broker: small heap, quick JIT start-up, no GC threads to spare.
        "-Xms256m".into(),
        "-Xmx1g".into(),
        "-XX:+UseSerialGC".into(),
        "-XX:TieredStopAtLevel=1".into(),
        "-Djava.awt.headless=true".into(),
        format!(
            "-Dlog4j2.configurationFile={}",
            dir.join("log4j2.properties").display()
        ),
        "-cp".into(),
        format!("{}/*", libs.display()),
    ]
}

async fn start() -> Result<Broker, String> {
    let kafka = kafka_dir()?;
    if !crate::common::runs("java", &["-version"]) {
        return Err("java not found (Kafka needs Java 17+)".into());
    }
    if !crate::common::runs("openssl", &["version"]) {
        return Err("openssl not found (it makes the test CA)".into());
    }
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("todo-kafka-")
        .tempdir()
        .expect("temp dir")
        .keep();
    certificates(&dir);
    // Hold all three ports until the configuration is written, so none is handed out twice.
    let (plaintext, controller, sasl_ssl) = (free_port(), free_port(), free_port());
    let port = |l: &std::net::TcpListener| l.local_addr().expect("bound").port();
    let properties = server_properties(&dir, port(&plaintext), port(&controller), port(&sasl_ssl));
    let addresses = (
        format!("127.0.0.1:{}", port(&plaintext)),
        format!("127.0.0.1:{}", port(&sasl_ssl)),
    );
    drop((plaintext, controller, sasl_ssl));
    std::fs::write(dir.join("server.properties"), properties).expect("write server.properties");
    std::fs::write(dir.join("log4j2.properties"), LOG4J2).expect("write log4j2.properties");

    let java = java_command(&kafka.join("libs"), &dir);
    // KRaft storage must be formatted first; SCRAM users are part of the initial metadata.
    let cluster_id =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    let mut format = Command::new(&java[0]);
    format
        .args(&java[1..])
        .args([
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            // One argument: a base64url id may start with '-', which would read as an option.
            &format!("--cluster-id={cluster_id}"),
            "-c",
        ])
        .arg(dir.join("server.properties"));
    for (mechanism, user, password) in USERS {
        let name = match mechanism {
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
            SaslMechanism::Plain => continue,
        };
        format
            .arg("--add-scram")
            .arg(format!("{name}=[name={user},password={password}]"));
    }
    let out = format.output().expect("java starts");
    assert!(
        out.status.success(),
        "formatting Kafka storage failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let mut supervisor = Command::new("sh")
        .arg("-c")
        .arg(SUPERVISOR)
        .arg("kafka-supervisor")
        .arg(&dir)
        .args(&java)
        .arg("kafka.Kafka")
        .arg(dir.join("server.properties"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh starts");
    let stdin = supervisor.stdin.take();
    let mut broker = Broker {
        supervisor,
        dir: dir.clone(),
        stdin,
        plaintext: addresses.0,
        sasl_ssl: addresses.1,
        ca_pem: std::fs::read_to_string(dir.join("ca.pem")).expect("CA"),
        other_ca_pem: std::fs::read_to_string(dir.join("other-ca.pem")).expect("other CA"),
    };
    broker.wait_ready(&dir, started).await;
    Ok(broker)
}

impl Broker {
    /// Ready means answering a Metadata request on both listeners (the SASL_SSL one after a
    /// SCRAM login), not merely accepting connections.
    async fn wait_ready(&mut self, dir: &Path, started: Instant) {
        let admin = KafkaAdmin::new(Duration::from_secs(5));
        for cluster in [self.plaintext(), self.sasl_ssl(SaslMechanism::ScramSha512)] {
            loop {
                let error = match admin.describe(&cluster, &[], &[]).await {
                    Ok(_) => break,
                    Err(error) => error,
                };
                let log = || std::fs::read_to_string(dir.join("broker.log")).unwrap_or_default();
                if let Ok(Some(status)) = self.supervisor.try_wait() {
                    panic!(
                        "Kafka exited ({status}) before answering: {error}\n{}",
                        log()
                    );
                }
                assert!(
                    started.elapsed() < READY_WITHIN,
                    "Kafka did not answer on {:?} within {READY_WITHIN:?}: {error}\n{}",
                    cluster.brokers,
                    log()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        let _ = writeln!(
            std::io::stderr(),
            "Kafka ready after {:.1} s (PLAINTEXT {}, SASL_SSL {}, directory {})",
            started.elapsed().as_secs_f64(),
            self.plaintext,
            self.sasl_ssl,
            dir.display()
        );
    }
}
