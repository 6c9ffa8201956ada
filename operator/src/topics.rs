//! Topic provisioning over the Kafka admin protocol (works with Kafka and Redpanda).
//!
//! Per reconcile: one Metadata call finds which topics exist and their partition counts, one
//! DescribeConfigs reads their configs, then only the differences are sent: CreateTopics for
//! missing topics, CreatePartitions to grow (never shrink), IncrementalAlterConfigs for drifted
//! configs. Topics are deleted only through the finalizer, when the CR's deletion policy says so.
//!
//! Connections speak plaintext, TLS (`eventing.external.tls`: a CA bundle from a Secret, or the
//! system roots) and SASL (`eventing.external.sasl`: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, with
//! `username`/`password` from a Secret), authenticated once per connection with SaslHandshake +
//! SaslAuthenticate (KIP-152) before any admin request.

mod sasl;
mod tls;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Secret;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest,
    CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
    MetadataRequest, MetadataResponse, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;

use crate::build::TopicPlan;
use crate::crd::{ExternalKafkaSpec, SaslMechanism, TopicState, TopicStatus};

/// Why talking to the brokers failed.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// No broker accepted a connection.
    #[error("cannot reach any broker of {brokers:?}: {source}")]
    Unreachable {
        /// The bootstrap list.
        brokers: Vec<String>,
        /// The last connection error.
        source: std::io::Error,
    },
    /// The TLS handshake failed: untrusted or mismatching certificate, or no TLS listener.
    #[error("TLS handshake with broker {broker} failed: {message}")]
    Tls {
        /// The broker address.
        broker: String,
        /// What rustls reported.
        message: String,
    },
    /// The broker refused the SASL credentials or mechanism.
    #[error("SASL {mechanism} authentication to broker {broker} failed: {message}")]
    Authentication {
        /// The broker address.
        broker: String,
        /// The mechanism tried.
        mechanism: &'static str,
        /// What the broker (or the SCRAM exchange) reported.
        message: String,
    },
    /// The TLS or SASL settings cannot be used: a referenced Secret or key is missing or holds
    /// something unusable.
    #[error("Kafka connection settings: {0}")]
    Credentials(String),
    /// The connection broke mid-request.
    #[error("connection to broker {broker} failed: {source}")]
    Io {
        /// The broker address.
        broker: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A request or response could not be encoded or decoded.
    #[error("Kafka protocol error: {0}")]
    Protocol(String),
    /// The broker did not answer in time.
    #[error("broker did not answer within {0:?}")]
    Timeout(Duration),
}

impl TopicError {
    /// The condition reason this failure is reported under (TopicsReady=False).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } | Self::Io { .. } | Self::Timeout(_) => "BrokersUnavailable",
            Self::Tls { .. } => "TlsFailed",
            Self::Authentication { .. } => "AuthenticationFailed",
            Self::Credentials(_) => "CredentialsInvalid",
            Self::Protocol(_) => "ProvisioningFailed",
        }
    }

    /// True when retrying cannot help until someone changes a Secret, the CR or the broker's
    /// security settings (rejected credentials or certificates), as opposed to an outage.
    pub fn needs_intervention(&self) -> bool {
        matches!(
            self,
            Self::Tls { .. } | Self::Authentication { .. } | Self::Credentials(_)
        )
    }
}

/// How to reach and authenticate to the brokers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KafkaCluster {
    /// Bootstrap brokers, `host:port`.
    pub brokers: Vec<String>,
    /// TLS, when the listener needs it.
    pub tls: Option<KafkaTls>,
    /// SASL credentials, when the listener needs them.
    pub sasl: Option<SaslCredentials>,
}

impl KafkaCluster {
    /// Plaintext, unauthenticated brokers.
    pub fn plaintext(brokers: Vec<String>) -> Self {
        Self {
            brokers,
            tls: None,
            sasl: None,
        }
    }
}

/// Which certificates a broker may present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KafkaTls {
    /// PEM CA bundle; the system roots when `None`.
    pub ca_pem: Option<String>,
}

/// SASL mechanism and credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct SaslCredentials {
    /// The mechanism.
    pub mechanism: SaslMechanism,
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

// Written by hand so the password never reaches a log line or an error message.
impl std::fmt::Debug for SaslCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslCredentials")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

fn mechanism_name(mechanism: SaslMechanism) -> &'static str {
    match mechanism {
        SaslMechanism::Plain => "PLAIN",
        SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
        SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
    }
}

/// The Secrets whose data [`cluster_access`] needs: the SASL credentials and the CA bundle.
pub fn credential_secrets(external: Option<&ExternalKafkaSpec>) -> Vec<String> {
    let Some(external) = external else {
        return Vec::new();
    };
    let mut names: Vec<String> = external
        .sasl
        .iter()
        .map(|s| s.secret_name.clone())
        .chain(
            external
                .tls
                .iter()
                .filter_map(|t| t.ca_secret_ref.as_ref().map(|r| r.name.clone())),
        )
        .collect();
    names.sort();
    names.dedup();
    names
}

fn secret_value(
    secrets: &BTreeMap<String, Secret>,
    name: &str,
    key: &str,
) -> Result<String, TopicError> {
    let secret = secrets
        .get(name)
        .ok_or_else(|| TopicError::Credentials(format!("Secret {name} not found")))?;
    let bytes = secret
        .data
        .as_ref()
        .and_then(|data| data.get(key))
        .ok_or_else(|| TopicError::Credentials(format!("Secret {name} has no key {key}")))?;
    String::from_utf8(bytes.0.clone())
        .map_err(|_| TopicError::Credentials(format!("Secret {name} key {key} is not UTF-8")))
}

/// The brokers with the TLS and SASL settings of `external`, credentials read from `secrets`
/// (by name; fetched by the controller's dereference step, see [`credential_secrets`]).
pub fn cluster_access(
    brokers: Vec<String>,
    external: Option<&ExternalKafkaSpec>,
    secrets: &BTreeMap<String, Secret>,
) -> Result<KafkaCluster, TopicError> {
    let mut cluster = KafkaCluster::plaintext(brokers);
    let Some(external) = external else {
        return Ok(cluster);
    };
    if let Some(spec) = &external.tls {
        let ca_pem = match &spec.ca_secret_ref {
            Some(reference) => {
                let pem = secret_value(secrets, &reference.name, &reference.key)?;
                tls::parse_ca_bundle(&pem).map_err(|e| {
                    TopicError::Credentials(format!(
                        "Secret {} key {}: {e}",
                        reference.name, reference.key
                    ))
                })?;
                Some(pem)
            }
            None => None,
        };
        cluster.tls = Some(KafkaTls { ca_pem });
    }
    if let Some(spec) = &external.sasl {
        cluster.sasl = Some(SaslCredentials {
            mechanism: spec.mechanism,
            username: secret_value(secrets, &spec.secret_name, "username")?,
            password: secret_value(secrets, &spec.secret_name, "password")?,
        });
    }
    Ok(cluster)
}

/// Topic administration as the controller needs it; the Kafka implementation is
/// [`KafkaAdmin`], tests substitute a recording fake.
pub trait TopicAdmin: Send + Sync {
    /// Make every planned topic exist with at least its partitions and exactly its configs.
    fn ensure<'a>(
        &'a self,
        cluster: &'a KafkaCluster,
        plans: &'a [TopicPlan],
    ) -> BoxFuture<'a, Result<Vec<TopicStatus>, TopicError>>;

    /// Delete the named topics (missing ones are fine).
    fn delete<'a>(
        &'a self,
        cluster: &'a KafkaCluster,
        names: &'a [String],
    ) -> BoxFuture<'a, Result<(), TopicError>>;
}

/// What the broker reported about one topic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExistingTopic {
    /// Partition count.
    pub partitions: i32,
    /// Current values of the configs we manage.
    pub configs: BTreeMap<String, String>,
}

/// The changes needed to move the broker to the plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicChanges {
    /// Topics to create.
    pub create: Vec<TopicPlan>,
    /// (topic, new partition count) for topics with too few partitions.
    pub grow: Vec<(String, i32)>,
    /// (topic, configs to set) for topics whose configs drifted.
    pub reconfigure: Vec<(String, BTreeMap<String, String>)>,
}

impl TopicChanges {
    /// True when the broker already matches the plan.
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.grow.is_empty() && self.reconfigure.is_empty()
    }
}

/// Compare the plan with what exists. Partitions only ever grow: a plan with fewer partitions
/// than the topic has leaves it alone (Kafka cannot shrink a topic without losing ordering).
pub fn diff(plans: &[TopicPlan], existing: &BTreeMap<String, ExistingTopic>) -> TopicChanges {
    let mut changes = TopicChanges::default();
    for plan in plans {
        match existing.get(&plan.name) {
            None => changes.create.push(plan.clone()),
            Some(topic) => {
                if topic.partitions < plan.partitions {
                    changes.grow.push((plan.name.clone(), plan.partitions));
                }
                let drifted: BTreeMap<String, String> = plan
                    .configs
                    .iter()
                    .filter(|(key, value)| topic.configs.get(*key) != Some(*value))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !drifted.is_empty() {
                    changes.reconfigure.push((plan.name.clone(), drifted));
                }
            }
        }
    }
    changes
}

/// Topic resource type in DescribeConfigs / IncrementalAlterConfigs.
const TOPIC_RESOURCE: i8 = 2;
/// IncrementalAlterConfigs operation SET.
const CONFIG_SET: i8 = 0;
/// Kafka error code for "topic already exists" (a concurrent creator won; fine).
const TOPIC_ALREADY_EXISTS: i16 = 36;
/// Kafka error code for "unknown topic" (already deleted; fine).
const UNKNOWN_TOPIC: i16 = 3;

// Versions still served by Kafka 4 (KIP-896 baselines) and Redpanda.
const METADATA_VERSION: i16 = 4;
const CREATE_TOPICS_VERSION: i16 = 2;
const DESCRIBE_CONFIGS_VERSION: i16 = 1;
const ALTER_CONFIGS_VERSION: i16 = 0;
const CREATE_PARTITIONS_VERSION: i16 = 1;
const DELETE_TOPICS_VERSION: i16 = 1;
/// v1: the SASL messages travel in SaslAuthenticate requests (v0's raw tokens are gone in Kafka 4).
const SASL_HANDSHAKE_VERSION: i16 = 1;
const SASL_AUTHENTICATE_VERSION: i16 = 1;

/// The Kafka admin-protocol provisioner.
#[derive(Debug)]
pub struct KafkaAdmin {
    timeout: Duration,
    writes: AtomicU64,
}

impl Default for KafkaAdmin {
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

impl KafkaAdmin {
    /// A provisioner whose every request must be answered within `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            writes: AtomicU64::new(0),
        }
    }

    /// How many changing requests (CreateTopics, CreatePartitions, IncrementalAlterConfigs,
    /// DeleteTopics) this provisioner has sent: reconciling an unchanged platform adds none.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    fn count_write(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }

    /// Connect to the first broker of `brokers` that accepts, then secure and authenticate the
    /// connection as `cluster` says. TLS and SASL failures end the attempt at once: the brokers
    /// of a cluster share certificates and users, so the next one would fail alike.
    async fn connect(
        &self,
        cluster: &KafkaCluster,
        brokers: &[String],
    ) -> Result<Connection, TopicError> {
        let tls = match &cluster.tls {
            Some(settings) => Some(
                tls::client_config(settings.ca_pem.as_deref()).map_err(TopicError::Credentials)?,
            ),
            None => None,
        };
        let mut last_error = std::io::Error::other("no brokers configured");
        for broker in brokers {
            match tokio::time::timeout(self.timeout, TcpStream::connect(broker)).await {
                Ok(Ok(tcp)) => return self.open(broker, tcp, tls, cluster.sasl.as_ref()).await,
                Ok(Err(error)) => last_error = error,
                Err(_) => {
                    last_error = std::io::Error::other(format!("connect to {broker} timed out"))
                }
            }
        }
        Err(TopicError::Unreachable {
            brokers: brokers.to_vec(),
            source: last_error,
        })
    }

    async fn open(
        &self,
        broker: &str,
        tcp: TcpStream,
        tls: Option<Arc<ClientConfig>>,
        sasl: Option<&SaslCredentials>,
    ) -> Result<Connection, TopicError> {
        let stream: Box<dyn Transport> = match tls {
            Some(config) => {
                let handshake = tls::handshake(config, broker, tcp);
                let stream = tokio::time::timeout(self.timeout, handshake)
                    .await
                    .map_err(|_| TopicError::Timeout(self.timeout))?
                    .map_err(|message| TopicError::Tls {
                        broker: broker.to_owned(),
                        message,
                    })?;
                Box::new(stream)
            }
            None => Box::new(tcp),
        };
        let mut connection = Connection {
            stream,
            broker: broker.to_owned(),
            correlation_id: 0,
            timeout: self.timeout,
        };
        if let Some(credentials) = sasl {
            connection.authenticate(credentials).await?;
        }
        Ok(connection)
    }

    /// Connect to the bootstrap brokers, then to the controller (CreateTopics, CreatePartitions
    /// and DeleteTopics must go to it).
    async fn controller(
        &self,
        cluster: &KafkaCluster,
        names: &[String],
    ) -> Result<(Connection, MetadataResponse), TopicError> {
        let mut connection = self.connect(cluster, &cluster.brokers).await?;
        let metadata = connection.metadata(names).await?;
        let controller = metadata
            .brokers
            .iter()
            .find(|b| b.node_id == metadata.controller_id)
            .map(|b| format!("{}:{}", b.host.as_str(), b.port));
        match controller {
            Some(address) if !cluster.brokers.contains(&address) && metadata.brokers.len() > 1 => {
                let connection = self.connect(cluster, &[address]).await?;
                Ok((connection, metadata))
            }
            _ => Ok((connection, metadata)),
        }
    }

    /// What the brokers have for the named topics: partitions, and the values of `config_keys`.
    /// Missing topics are absent from the map.
    pub async fn describe(
        &self,
        cluster: &KafkaCluster,
        names: &[String],
        config_keys: &[String],
    ) -> Result<BTreeMap<String, ExistingTopic>, TopicError> {
        let mut connection = self.connect(cluster, &cluster.brokers).await?;
        let metadata = connection.metadata(names).await?;
        Self::existing(&mut connection, &metadata, config_keys).await
    }

    async fn existing(
        connection: &mut Connection,
        metadata: &MetadataResponse,
        config_keys: &[String],
    ) -> Result<BTreeMap<String, ExistingTopic>, TopicError> {
        let mut existing: BTreeMap<String, ExistingTopic> = metadata
            .topics
            .iter()
            .filter(|t| t.error_code == 0)
            .filter_map(|t| {
                let name = t.name.as_ref()?.0.as_str().to_owned();
                let partitions = i32::try_from(t.partitions.len()).unwrap_or(i32::MAX);
                Some((
                    name,
                    ExistingTopic {
                        partitions,
                        configs: BTreeMap::new(),
                    },
                ))
            })
            .collect();
        let names: Vec<String> = existing.keys().cloned().collect();
        for (name, configs) in connection.describe_configs(&names, config_keys).await? {
            if let Some(topic) = existing.get_mut(&name) {
                topic.configs = configs;
            }
        }
        Ok(existing)
    }

    async fn ensure_topics(
        &self,
        cluster: &KafkaCluster,
        plans: &[TopicPlan],
    ) -> Result<Vec<TopicStatus>, TopicError> {
        let names: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();
        let (mut connection, metadata) = self.controller(cluster, &names).await?;
        let managed_keys: Vec<String> = plans
            .iter()
            .flat_map(|p| p.configs.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let existing = Self::existing(&mut connection, &metadata, &managed_keys).await?;
        let changes = diff(plans, &existing);
        let mut failures: BTreeMap<String, String> = BTreeMap::new();
        if !changes.create.is_empty() {
            self.count_write();
            failures.extend(connection.create_topics(&changes.create).await?);
        }
        if !changes.grow.is_empty() {
            self.count_write();
            failures.extend(connection.create_partitions(&changes.grow).await?);
        }
        if !changes.reconfigure.is_empty() {
            self.count_write();
            failures.extend(connection.alter_configs(&changes.reconfigure).await?);
        }
        for plan in &changes.create {
            tracing::info!(topic = %plan.name, partitions = plan.partitions, "created topic");
        }
        for (topic, partitions) in &changes.grow {
            tracing::info!(%topic, partitions, "grew topic partitions");
        }
        Ok(plans
            .iter()
            .map(|plan| {
                let partitions = existing
                    .get(&plan.name)
                    .map_or(plan.partitions, |t| t.partitions.max(plan.partitions));
                match failures.get(&plan.name) {
                    Some(message) => TopicStatus {
                        name: plan.name.clone(),
                        partitions: existing.get(&plan.name).map(|t| t.partitions),
                        state: TopicState::Failed,
                        message: Some(message.clone()),
                    },
                    None => TopicStatus::ready(&plan.name, partitions),
                }
            })
            .collect())
    }

    async fn delete_topics(
        &self,
        cluster: &KafkaCluster,
        names: &[String],
    ) -> Result<(), TopicError> {
        let (mut connection, _) = self.controller(cluster, names).await?;
        self.count_write();
        let failures = connection.delete_topics(names).await?;
        match failures.into_iter().next() {
            Some((topic, message)) => {
                Err(TopicError::Protocol(format!("deleting {topic}: {message}")))
            }
            None => Ok(()),
        }
    }
}

impl TopicAdmin for KafkaAdmin {
    fn ensure<'a>(
        &'a self,
        cluster: &'a KafkaCluster,
        plans: &'a [TopicPlan],
    ) -> BoxFuture<'a, Result<Vec<TopicStatus>, TopicError>> {
        Box::pin(self.ensure_topics(cluster, plans))
    }

    fn delete<'a>(
        &'a self,
        cluster: &'a KafkaCluster,
        names: &'a [String],
    ) -> BoxFuture<'a, Result<(), TopicError>> {
        Box::pin(self.delete_topics(cluster, names))
    }
}

fn protocol_error(error: impl std::fmt::Display) -> TopicError {
    TopicError::Protocol(error.to_string())
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

fn error_text(code: i16, message: Option<&StrBytes>) -> String {
    match message {
        Some(message) if !message.is_empty() => format!("error {code}: {}", message.as_str()),
        _ => format!("error code {code}"),
    }
}

/// A byte stream to a broker: plain TCP or TLS over it.
trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// One broker connection with request framing.
struct Connection {
    stream: Box<dyn Transport>,
    broker: String,
    correlation_id: i32,
    timeout: Duration,
}

impl Connection {
    async fn call<Req, Resp>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, TopicError>
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        self.correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("todo-operator")));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, Req::header_version(version))
            .map_err(protocol_error)?;
        request.encode(&mut body, version).map_err(protocol_error)?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(i32::try_from(body.len()).map_err(protocol_error)?);
        frame.extend_from_slice(&body);
        let exchange = async {
            self.stream.write_all(&frame).await?;
            let size = self.stream.read_i32().await?;
            let mut response = vec![0; usize::try_from(size).map_err(std::io::Error::other)?];
            self.stream.read_exact(&mut response).await?;
            Ok::<_, std::io::Error>(response)
        };
        let response = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| TopicError::Timeout(self.timeout))?
            .map_err(|source| TopicError::Io {
                broker: self.broker.clone(),
                source,
            })?;
        let mut buf = bytes::Bytes::from(response);
        let header = ResponseHeader::decode(&mut buf, Resp::header_version(version))
            .map_err(protocol_error)?;
        if header.correlation_id != self.correlation_id {
            return Err(TopicError::Protocol(format!(
                "response correlation id {} does not match request {}",
                header.correlation_id, self.correlation_id
            )));
        }
        let decoded = Resp::decode(&mut buf, version).map_err(protocol_error)?;
        if buf.has_remaining() {
            tracing::debug!(
                remaining = buf.remaining(),
                ?key,
                "trailing bytes in Kafka response"
            );
        }
        Ok(decoded)
    }

    fn auth_error(&self, mechanism: &'static str, message: impl Into<String>) -> TopicError {
        TopicError::Authentication {
            broker: self.broker.clone(),
            mechanism,
            message: message.into(),
        }
    }

    /// SaslHandshake names the mechanism; then each SASL message goes out in a SaslAuthenticate
    /// request and the broker's answer comes back in its response (KIP-152).
    async fn authenticate(&mut self, credentials: &SaslCredentials) -> Result<(), TopicError> {
        let mechanism = mechanism_name(credentials.mechanism);
        let request =
            SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism));
        let handshake: SaslHandshakeResponse = self
            .call(ApiKey::SaslHandshake, SASL_HANDSHAKE_VERSION, &request)
            .await?;
        if handshake.error_code != 0 {
            let enabled: Vec<&str> = handshake.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(self.auth_error(
                mechanism,
                format!(
                    "the broker does not enable it (error {}; enabled: {})",
                    handshake.error_code,
                    enabled.join(", ")
                ),
            ));
        }
        let hash = match credentials.mechanism {
            SaslMechanism::Plain => {
                let message = sasl::plain_message(&credentials.username, &credentials.password);
                self.sasl_step(mechanism, message).await?;
                return Ok(());
            }
            SaslMechanism::ScramSha256 => sasl::ScramHash::Sha256,
            SaslMechanism::ScramSha512 => sasl::ScramHash::Sha512,
        };
        let scram = sasl::Scram::new(hash, &credentials.username, &credentials.password);
        let server_first = self
            .sasl_step(mechanism, scram.client_first().into_bytes())
            .await?;
        let server_first = String::from_utf8(server_first)
            .map_err(|_| self.auth_error(mechanism, "server-first-message is not UTF-8"))?;
        let last = scram
            .client_final(&server_first)
            .map_err(|message| self.auth_error(mechanism, message))?;
        let server_final = self
            .sasl_step(mechanism, last.message.clone().into_bytes())
            .await?;
        let server_final = String::from_utf8(server_final)
            .map_err(|_| self.auth_error(mechanism, "server-final-message is not UTF-8"))?;
        last.verify(&server_final)
            .map_err(|message| self.auth_error(mechanism, message))
    }

    async fn sasl_step(
        &mut self,
        mechanism: &'static str,
        message: Vec<u8>,
    ) -> Result<Vec<u8>, TopicError> {
        let request = SaslAuthenticateRequest::default().with_auth_bytes(message.into());
        let response: SaslAuthenticateResponse = self
            .call(
                ApiKey::SaslAuthenticate,
                SASL_AUTHENTICATE_VERSION,
                &request,
            )
            .await?;
        if response.error_code != 0 {
            return Err(self.auth_error(
                mechanism,
                error_text(response.error_code, response.error_message.as_ref()),
            ));
        }
        Ok(response.auth_bytes.to_vec())
    }

    async fn metadata(&mut self, names: &[String]) -> Result<MetadataResponse, TopicError> {
        let request = MetadataRequest::default()
            .with_topics(Some(
                names
                    .iter()
                    .map(|n| MetadataRequestTopic::default().with_name(Some(topic_name(n))))
                    .collect(),
            ))
            .with_allow_auto_topic_creation(false);
        self.call(ApiKey::Metadata, METADATA_VERSION, &request)
            .await
    }

    async fn describe_configs(
        &mut self,
        names: &[String],
        keys: &[String],
    ) -> Result<Vec<(String, BTreeMap<String, String>)>, TopicError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let request = DescribeConfigsRequest::default().with_resources(
            names
                .iter()
                .map(|name| {
                    DescribeConfigsResource::default()
                        .with_resource_type(TOPIC_RESOURCE)
                        .with_resource_name(StrBytes::from_string(name.clone()))
                        // Only the managed keys (a topic has ~40 configs); the answer is
                        // still filtered below, since a broker may add synonyms.
                        .with_configuration_keys(Some(
                            keys.iter()
                                .map(|k| StrBytes::from_string(k.clone()))
                                .collect(),
                        ))
                })
                .collect(),
        );
        let response: DescribeConfigsResponse = self
            .call(ApiKey::DescribeConfigs, DESCRIBE_CONFIGS_VERSION, &request)
            .await?;
        Ok(response
            .results
            .into_iter()
            .filter(|r| r.error_code == 0)
            .map(|result| {
                let configs = result
                    .configs
                    .into_iter()
                    .filter(|c| keys.iter().any(|k| k.as_str() == c.name.as_str()))
                    .filter_map(|c| {
                        Some((c.name.as_str().to_owned(), c.value?.as_str().to_owned()))
                    })
                    .collect();
                (result.resource_name.as_str().to_owned(), configs)
            })
            .collect())
    }

    async fn create_topics(
        &mut self,
        plans: &[TopicPlan],
    ) -> Result<BTreeMap<String, String>, TopicError> {
        let request = CreateTopicsRequest::default()
            .with_timeout_ms(i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX))
            .with_topics(
                plans
                    .iter()
                    .map(|plan| {
                        CreatableTopic::default()
                            .with_name(topic_name(&plan.name))
                            .with_num_partitions(plan.partitions)
                            .with_replication_factor(plan.replication_factor)
                            .with_configs(
                                plan.configs
                                    .iter()
                                    .map(|(k, v)| {
                                        CreatableTopicConfig::default()
                                            .with_name(StrBytes::from_string(k.clone()))
                                            .with_value(Some(StrBytes::from_string(v.clone())))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let response: CreateTopicsResponse = self
            .call(ApiKey::CreateTopics, CREATE_TOPICS_VERSION, &request)
            .await?;
        Ok(response
            .topics
            .into_iter()
            .filter(|t| t.error_code != 0 && t.error_code != TOPIC_ALREADY_EXISTS)
            .map(|t| {
                (
                    t.name.0.as_str().to_owned(),
                    error_text(t.error_code, t.error_message.as_ref()),
                )
            })
            .collect())
    }

    async fn create_partitions(
        &mut self,
        grow: &[(String, i32)],
    ) -> Result<BTreeMap<String, String>, TopicError> {
        let request = CreatePartitionsRequest::default()
            .with_timeout_ms(i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX))
            .with_topics(
                grow.iter()
                    .map(|(name, count)| {
                        CreatePartitionsTopic::default()
                            .with_name(topic_name(name))
                            .with_count(*count)
                            .with_assignments(None)
                    })
                    .collect(),
            );
        let response: CreatePartitionsResponse = self
            .call(
                ApiKey::CreatePartitions,
                CREATE_PARTITIONS_VERSION,
                &request,
            )
            .await?;
        Ok(response
            .results
            .into_iter()
            .filter(|r| r.error_code != 0)
            .map(|r| {
                (
                    r.name.0.as_str().to_owned(),
                    error_text(r.error_code, r.error_message.as_ref()),
                )
            })
            .collect())
    }

    async fn alter_configs(
        &mut self,
        reconfigure: &[(String, BTreeMap<String, String>)],
    ) -> Result<BTreeMap<String, String>, TopicError> {
        let request = IncrementalAlterConfigsRequest::default().with_resources(
            reconfigure
                .iter()
                .map(|(name, configs)| {
                    AlterConfigsResource::default()
                        .with_resource_type(TOPIC_RESOURCE)
                        .with_resource_name(StrBytes::from_string(name.clone()))
                        .with_configs(
                            configs
                                .iter()
                                .map(|(k, v)| {
                                    AlterableConfig::default()
                                        .with_name(StrBytes::from_string(k.clone()))
                                        .with_config_operation(CONFIG_SET)
                                        .with_value(Some(StrBytes::from_string(v.clone())))
                                })
                                .collect(),
                        )
                })
                .collect(),
        );
        let response: IncrementalAlterConfigsResponse = self
            .call(
                ApiKey::IncrementalAlterConfigs,
                ALTER_CONFIGS_VERSION,
                &request,
            )
            .await?;
        Ok(response
            .responses
            .into_iter()
            .filter(|r| r.error_code != 0)
            .map(|r| {
                (
                    r.resource_name.as_str().to_owned(),
                    error_text(r.error_code, r.error_message.as_ref()),
                )
            })
            .collect())
    }

    async fn delete_topics(
        &mut self,
        names: &[String],
    ) -> Result<BTreeMap<String, String>, TopicError> {
        let request = DeleteTopicsRequest::default()
            .with_timeout_ms(i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX))
            .with_topic_names(names.iter().map(|n| topic_name(n)).collect());
        let response: DeleteTopicsResponse = self
            .call(ApiKey::DeleteTopics, DELETE_TOPICS_VERSION, &request)
            .await?;
        Ok(response
            .responses
            .into_iter()
            .filter(|r| r.error_code != 0 && r.error_code != UNKNOWN_TOPIC)
            .map(|r| {
                let name = r.name.map(|n| n.0.as_str().to_owned()).unwrap_or_default();
                (name, error_text(r.error_code, r.error_message.as_ref()))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::ByteString;

    use super::*;
    use crate::crd::{KafkaSaslSpec, KafkaTlsSpec, SecretKeyRef};

    fn external(tls: bool, sasl: bool) -> ExternalKafkaSpec {
        ExternalKafkaSpec {
            brokers: vec!["kafka:9093".into()],
            tls: tls.then(|| KafkaTlsSpec {
                ca_secret_ref: Some(SecretKeyRef {
                    name: "kafka-ca".into(),
                    key: "ca.crt".into(),
                }),
            }),
            sasl: sasl.then(|| KafkaSaslSpec {
                mechanism: SaslMechanism::ScramSha512,
                secret_name: "kafka-user".into(),
            }),
        }
    }

    fn secret(name: &str, data: &[(&str, &str)]) -> (String, Secret) {
        let mut secret = Secret::default();
        secret.metadata.name = Some(name.into());
        secret.data = Some(
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        );
        (name.to_owned(), secret)
    }

    // PEM framing around bytes that are no real certificate: the bundle check reads PEM only,
    // and nothing here verifies a chain with it.
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBeTCCAR+gAwIBAgIUT0u9wKx6rE6pQyW5mXJ3J5xq0n8wCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHdGVzdCBjYTAeFw0yNjAxMDEwMDAwMDBaFw0zNjAxMDEwMDAw
MDBaMBIxEDAOBgNVBAMMB3Rlc3QgY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AAQ2Zbq5mPp3N0b6pZb4Kx1Ykq2vYw3b0wJ4v7F5N0r3wq9s6e0jW3fQbY8gq5M2
Yk0v2mJz9n6c0bX3Kq1m8o3Wo1MwUTAdBgNVHQ4EFgQUq1bV5m0yJ0u3p4wq0bY8
gq5M2YkwHwYDVR0jBBgwFoAUq1bV5m0yJ0u3p4wq0bY8gq5M2YkwDwYDVR0TAQH/
BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEA0g7n6cX1wq2x9Ykq2vYw3b0wJ4v7
F5N0r3wq9s6e0jUCIHtU0b6pZb4Kx1Ykq2vYw3b0wJ4v7F5N0r3wq9s6e0jW
-----END CERTIFICATE-----
";

    /// Credentials and CA come from the Secrets the spec names; the brokers from the plan.
    #[test]
    fn cluster_access_reads_the_referenced_secrets() {
        let secrets = BTreeMap::from([
            secret("kafka-ca", &[("ca.crt", CA)]),
            secret("kafka-user", &[("username", "todo"), ("password", "pw")]),
        ]);
        let spec = external(true, true);
        assert_eq!(
            credential_secrets(Some(&spec)),
            ["kafka-ca".to_owned(), "kafka-user".to_owned()]
        );
        let cluster = cluster_access(vec!["b:9093".into()], Some(&spec), &secrets).unwrap();
        assert_eq!(cluster.brokers, ["b:9093"]);
        assert_eq!(cluster.tls.unwrap().ca_pem.as_deref(), Some(CA));
        let sasl = cluster.sasl.unwrap();
        assert_eq!(
            (
                sasl.mechanism,
                sasl.username.as_str(),
                sasl.password.as_str()
            ),
            (SaslMechanism::ScramSha512, "todo", "pw")
        );
        assert!(
            !format!("{sasl:?}").contains("pw"),
            "Debug leaks the password"
        );
        assert_eq!(
            cluster_access(vec![], None, &BTreeMap::new()).unwrap(),
            KafkaCluster::plaintext(vec![])
        );
    }

    /// A missing Secret or key, or a CA key that holds no certificate, is CredentialsInvalid
    /// naming the Secret and key.
    #[test]
    fn cluster_access_names_what_is_missing() {
        let spec = external(true, true);
        let cases = [
            (
                BTreeMap::from([secret("kafka-ca", &[("ca.crt", CA)])]),
                "Secret kafka-user not found",
            ),
            (
                BTreeMap::from([
                    secret("kafka-ca", &[("ca.crt", CA)]),
                    secret("kafka-user", &[("username", "todo")]),
                ]),
                "Secret kafka-user has no key password",
            ),
            (
                BTreeMap::from([
                    secret("kafka-ca", &[("ca.crt", "garbage")]),
                    secret("kafka-user", &[("username", "u"), ("password", "p")]),
                ]),
                "Secret kafka-ca key ca.crt: the CA bundle holds no PEM certificate",
            ),
        ];
        for (secrets, expected) in cases {
            let error = cluster_access(vec![], Some(&spec), &secrets).unwrap_err();
            assert_eq!(error.reason(), "CredentialsInvalid");
            assert!(error.needs_intervention());
            assert!(error.to_string().contains(expected), "{error}");
        }
    }

    fn plan(name: &str, partitions: i32, retention: &str) -> TopicPlan {
        TopicPlan {
            name: name.into(),
            partitions,
            replication_factor: 1,
            configs: BTreeMap::from([("retention.ms".to_owned(), retention.to_owned())]),
        }
    }

    fn existing(partitions: i32, retention: &str) -> ExistingTopic {
        ExistingTopic {
            partitions,
            configs: BTreeMap::from([("retention.ms".to_owned(), retention.to_owned())]),
        }
    }

    /// Missing topics are created; matching ones produce no change.
    #[test]
    fn diff_creates_only_missing_topics() {
        let plans = [plan("a", 3, "1"), plan("b", 3, "1")];
        let changes = diff(
            &plans,
            &BTreeMap::from([("a".to_owned(), existing(3, "1"))]),
        );
        assert_eq!(changes.create, [plan("b", 3, "1")]);
        assert!(changes.grow.is_empty() && changes.reconfigure.is_empty());
    }

    /// Partitions grow to the plan.
    #[test]
    fn diff_grows_partitions() {
        let changes = diff(
            &[plan("a", 6, "1")],
            &BTreeMap::from([("a".to_owned(), existing(3, "1"))]),
        );
        assert_eq!(changes.grow, [("a".to_owned(), 6)]);
    }

    /// A plan with fewer partitions never shrinks a topic.
    #[test]
    fn diff_never_shrinks() {
        let changes = diff(
            &[plan("a", 2, "1")],
            &BTreeMap::from([("a".to_owned(), existing(8, "1"))]),
        );
        assert!(changes.is_empty());
    }

    /// Drifted configs are set back; only the drifted keys are sent.
    #[test]
    fn diff_reconfigures_drifted_configs() {
        let mut desired = plan("a", 3, "100");
        desired
            .configs
            .insert("cleanup.policy".into(), "delete".into());
        let mut current = existing(3, "50");
        current
            .configs
            .insert("cleanup.policy".into(), "delete".into());
        let changes = diff(&[desired], &BTreeMap::from([("a".to_owned(), current)]));
        assert_eq!(
            changes.reconfigure,
            [(
                "a".to_owned(),
                BTreeMap::from([("retention.ms".to_owned(), "100".to_owned())])
            )]
        );
    }
}
