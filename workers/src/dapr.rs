//! Dapr's HTTP API as documented: publish (`POST /v1.0/publish/{pubsub}/{topic}` with a CloudEvent body and
//! `metadata.partitionKey`), service invocation (`/v1.0/invoke/{app-id}/method/{method}`), and the
//! subscriber reply (`{"status": "SUCCESS" | "RETRY" | "DROP"}`).

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberReply {
    pub status: String,
}

impl SubscriberReply {
    pub fn success() -> Self {
        SubscriberReply {
            status: "SUCCESS".into(),
        }
    }
    pub fn retry() -> Self {
        SubscriberReply {
            status: "RETRY".into(),
        }
    }
    pub fn drop() -> Self {
        SubscriberReply {
            status: "DROP".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DaprError {
    #[error("dapr sidecar unreachable: {0}")]
    Unreachable(#[from] reqwest::Error),
    #[error("dapr answered {status}: {body}")]
    Status { status: u16, body: String },
}

#[derive(Clone, Debug)]
pub struct DaprClient {
    http: reqwest::Client,
    base_url: String,
    api_token: Option<String>,
}

impl DaprClient {
    pub fn new(port: u16, api_token: Option<String>) -> DaprClient {
        Self::with_base_url(format!("http://127.0.0.1:{port}"), api_token)
    }

    pub fn with_base_url(base_url: String, api_token: Option<String>) -> DaprClient {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        DaprClient {
            http,
            base_url,
            api_token,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        match &self.api_token {
            Some(t) => req.header("dapr-api-token", t),
            None => req,
        }
    }

    /// Publish a CloudEvent as-is (`application/cloudevents+json`, so Dapr does not wrap it again).
    pub async fn publish(
        &self,
        pubsub: &str,
        topic: &str,
        partition_key: &str,
        cloud_event: &str,
    ) -> Result<(), DaprError> {
        let resp = self
            .request(
                reqwest::Method::POST,
                &format!("/v1.0/publish/{pubsub}/{topic}"),
            )
            .query(&[("metadata.partitionKey", partition_key)])
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/cloudevents+json",
            )
            .body(cloud_event.to_owned())
            .send()
            .await?;
        check(resp).await.map(|_| ())
    }

    /// Call a method of another app (the API) through Dapr service invocation.
    pub async fn invoke(
        &self,
        app_id: &str,
        method: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, DaprError> {
        let resp = self
            .request(
                reqwest::Method::POST,
                &format!("/v1.0/invoke/{app_id}/method/{method}"),
            )
            .json(body)
            .send()
            .await?;
        let text = check(resp).await?;
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }
}

async fn check(resp: reqwest::Response) -> Result<String, DaprError> {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if status.is_success() {
        Ok(body)
    } else {
        Err(DaprError::Status {
            status: status.as_u16(),
            body,
        })
    }
}
