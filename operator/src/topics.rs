//! Topic provisioning over the Kafka admin protocol (works with Kafka, Redpanda and tansu).
//!
//! Per reconcile: one Metadata call finds which topics exist and their partition counts, one
//! DescribeConfigs reads their configs, then only the differences are sent: CreateTopics for
//! missing topics, CreatePartitions to grow (never shrink), IncrementalAlterConfigs for drifted
//! configs. Topics are deleted only through the finalizer, when the CR's deletion policy says so.
//!
//! The client speaks plaintext. For brokers that need TLS or SASL, choose the RedpandaTopic
//! provisioner (the Redpanda operator holds the credentials) or provision topics externally.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use futures::future::BoxFuture;
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
    MetadataRequest, MetadataResponse, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::build::TopicPlan;
use crate::crd::{TopicState, TopicStatus};

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
    /// The connection broke mid-request.
    #[error("broker connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// A request or response could not be encoded or decoded.
    #[error("Kafka protocol error: {0}")]
    Protocol(String),
    /// The broker did not answer in time.
    #[error("broker did not answer within {0:?}")]
    Timeout(Duration),
}

/// Topic administration as the controller needs it; the Kafka implementation is
/// [`KafkaAdmin`], tests substitute a recording fake.
pub trait TopicAdmin: Send + Sync {
    /// Make every planned topic exist with at least its partitions and exactly its configs.
    fn ensure<'a>(
        &'a self,
        brokers: &'a [String],
        plans: &'a [TopicPlan],
    ) -> BoxFuture<'a, Result<Vec<TopicStatus>, TopicError>>;

    /// Delete the named topics (missing ones are fine).
    fn delete<'a>(
        &'a self,
        brokers: &'a [String],
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

// Versions still served by Kafka 4 (KIP-896 baselines), Redpanda and tansu.
const METADATA_VERSION: i16 = 4;
const CREATE_TOPICS_VERSION: i16 = 2;
const DESCRIBE_CONFIGS_VERSION: i16 = 1;
const ALTER_CONFIGS_VERSION: i16 = 0;
const CREATE_PARTITIONS_VERSION: i16 = 1;
const DELETE_TOPICS_VERSION: i16 = 1;

/// The Kafka admin-protocol provisioner.
#[derive(Clone, Debug)]
pub struct KafkaAdmin {
    timeout: Duration,
}

impl Default for KafkaAdmin {
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

impl KafkaAdmin {
    /// A provisioner whose every request must be answered within `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }

    async fn connect(&self, brokers: &[String]) -> Result<Connection, TopicError> {
        let mut last_error = std::io::Error::other("no brokers configured");
        for broker in brokers {
            match tokio::time::timeout(self.timeout, TcpStream::connect(broker)).await {
                Ok(Ok(stream)) => {
                    return Ok(Connection {
                        stream,
                        correlation_id: 0,
                        timeout: self.timeout,
                    });
                }
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

    /// Connect to the bootstrap brokers, then to the controller (CreateTopics, CreatePartitions
    /// and DeleteTopics must go to it).
    async fn controller(
        &self,
        brokers: &[String],
        names: &[String],
    ) -> Result<(Connection, MetadataResponse), TopicError> {
        let mut connection = self.connect(brokers).await?;
        let metadata = connection.metadata(names).await?;
        let controller = metadata
            .brokers
            .iter()
            .find(|b| b.node_id == metadata.controller_id)
            .map(|b| format!("{}:{}", b.host.as_str(), b.port));
        match controller {
            Some(address) if !brokers.contains(&address) && metadata.brokers.len() > 1 => {
                let connection = self.connect(&[address]).await?;
                Ok((connection, metadata))
            }
            _ => Ok((connection, metadata)),
        }
    }

    /// What the brokers have for the named topics: partitions, and the values of `config_keys`.
    /// Missing topics are absent from the map.
    pub async fn describe(
        &self,
        brokers: &[String],
        names: &[String],
        config_keys: &[String],
    ) -> Result<BTreeMap<String, ExistingTopic>, TopicError> {
        let mut connection = self.connect(brokers).await?;
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
        brokers: &[String],
        plans: &[TopicPlan],
    ) -> Result<Vec<TopicStatus>, TopicError> {
        let names: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();
        let (mut connection, metadata) = self.controller(brokers, &names).await?;
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
            failures.extend(connection.create_topics(&changes.create).await?);
        }
        if !changes.grow.is_empty() {
            failures.extend(connection.create_partitions(&changes.grow).await?);
        }
        if !changes.reconfigure.is_empty() {
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
                    None => TopicStatus {
                        name: plan.name.clone(),
                        partitions: Some(partitions),
                        state: TopicState::Ready,
                        message: None,
                    },
                }
            })
            .collect())
    }

    async fn delete_topics(&self, brokers: &[String], names: &[String]) -> Result<(), TopicError> {
        let (mut connection, _) = self.controller(brokers, names).await?;
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
        brokers: &'a [String],
        plans: &'a [TopicPlan],
    ) -> BoxFuture<'a, Result<Vec<TopicStatus>, TopicError>> {
        Box::pin(self.ensure_topics(brokers, plans))
    }

    fn delete<'a>(
        &'a self,
        brokers: &'a [String],
        names: &'a [String],
    ) -> BoxFuture<'a, Result<(), TopicError>> {
        Box::pin(self.delete_topics(brokers, names))
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

/// One broker connection with request framing.
struct Connection {
    stream: TcpStream,
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
            .map_err(|_| TopicError::Timeout(self.timeout))??;
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
                        // All configs, filtered below: tansu drops the connection when asked
                        // for named keys.
                        .with_configuration_keys(None)
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
    use super::*;

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

    /// Partitions grow to the plan (the path tansu cannot serve, so it is covered here).
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
