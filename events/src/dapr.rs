//! Dapr's HTTP API as documented: publish (`POST /v1.0/publish/{pubsub}/{topic}` with a CloudEvent body and
//! `metadata.partitionKey`), bulk publish (`POST /v1.0-alpha1/publish/bulk/{pubsub}/{topic}` with a JSON array
//! of entries; 204 when all were delivered, 500 listing the `failedEntries`), service invocation (`/v1.0/invoke/{app-id}/method/{method}`), and the
//! subscriber reply (`{"status": "SUCCESS" | "RETRY" | "DROP"}`).

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
    #[error("this dapr sidecar has no bulk publish API")]
    BulkUnsupported,
}

/// One message of a bulk publish.
#[derive(Debug, Clone, Copy)]
pub struct BulkEntry<'a> {
    /// Unique within the request; Dapr names failed entries by it.
    pub entry_id: &'a str,
    pub partition_key: &'a str,
    /// The CloudEvent JSON, sent as-is.
    pub cloud_event: &'a str,
}

/// An entry Dapr reported as not delivered.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FailedEntry {
    #[serde(rename = "entryId")]
    pub entry_id: String,
    #[serde(default)]
    pub error: String,
}

#[derive(Deserialize)]
struct BulkFailure {
    #[serde(rename = "failedEntries")]
    failed_entries: Vec<FailedEntry>,
}

#[derive(Clone, Debug)]
pub struct DaprClient {
    http: reqwest::Client,
    base_url: String,
    api_token: Option<String>,
    /// Set once the sidecar answered the bulk endpoint with "no such route" (a Dapr older than 1.10).
    bulk_unsupported: Arc<AtomicBool>,
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
            bulk_unsupported: Arc::new(AtomicBool::new(false)),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        // The sidecar's spans (publish, service invocation) continue the caller's trace.
        if let Some(trace) = crate::trace::current() {
            req = req.header(crate::trace::TRACEPARENT, trace.traceparent);
            if let Some(state) = trace.tracestate {
                req = req.header(crate::trace::TRACESTATE, state);
            }
        }
        match &self.api_token {
            Some(t) => req.header(todo_contract::header::APP_TOKEN, t),
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

    /// Whether bulk publishing is worth trying (false once the sidecar has shown it lacks the API).
    pub fn bulk_supported(&self) -> bool {
        !self.bulk_unsupported.load(Ordering::Relaxed)
    }

    /// Publish CloudEvents to one topic in one request, each with its own partition key. Dapr does not
    /// order the entries of one request, so the caller puts at most one entry per partition key in it.
    /// Returns the entries that were not delivered (empty: all were).
    pub async fn publish_bulk(
        &self,
        pubsub: &str,
        topic: &str,
        entries: &[BulkEntry<'_>],
    ) -> Result<Vec<FailedEntry>, DaprError> {
        let resp = self
            .request(
                reqwest::Method::POST,
                &format!("/v1.0-alpha1/publish/bulk/{pubsub}/{topic}"),
            )
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bulk_body(entries))
            .send()
            .await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(Vec::new());
        }
        if matches!(status.as_u16(), 404 | 405 | 501) {
            self.bulk_unsupported.store(true, Ordering::Relaxed);
            return Err(DaprError::BulkUnsupported);
        }
        let body = resp.text().await.unwrap_or_default();
        match serde_json::from_str::<BulkFailure>(&body) {
            Ok(failure) if status.as_u16() == 500 => Ok(failure.failed_entries),
            _ => Err(DaprError::Status {
                status: status.as_u16(),
                body,
            }),
        }
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

/// The bulk request body, written directly: the events are already JSON.
fn bulk_body(entries: &[BulkEntry<'_>]) -> String {
    let size: usize = entries
        .iter()
        .map(|e| e.cloud_event.len() + e.partition_key.len() + e.entry_id.len() + 96)
        .sum();
    let mut body = String::with_capacity(size + 2);
    body.push('[');
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str("{\"entryId\":");
        push_json_string(&mut body, entry.entry_id);
        body.push_str(",\"event\":");
        body.push_str(entry.cloud_event);
        body.push_str(
            ",\"contentType\":\"application/cloudevents+json\",\"metadata\":{\"partitionKey\":",
        );
        push_json_string(&mut body, entry.partition_key);
        body.push_str("}}");
    }
    body.push(']');
    body
}

fn push_json_string(out: &mut String, s: &str) {
    // Serializing a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The bulk body is the JSON array Dapr documents, each event embedded as an object (not a string) and
    /// the strings escaped.
    #[test]
    fn bulk_body_is_dapr_entries() {
        let entries = [
            BulkEntry {
                entry_id: "7",
                partition_key: "user \"a\"",
                cloud_event: r#"{"id":"e1","type":"t"}"#,
            },
            BulkEntry {
                entry_id: "8",
                partition_key: "b",
                cloud_event: r#"{"id":"e2"}"#,
            },
        ];
        let body: serde_json::Value = serde_json::from_str(&bulk_body(&entries)).unwrap();
        assert_eq!(
            body,
            serde_json::json!([
                {"entryId": "7", "event": {"id": "e1", "type": "t"}, "contentType": "application/cloudevents+json",
                 "metadata": {"partitionKey": "user \"a\""}},
                {"entryId": "8", "event": {"id": "e2"}, "contentType": "application/cloudevents+json",
                 "metadata": {"partitionKey": "b"}},
            ])
        );
        assert_eq!(bulk_body(&[]), "[]");
    }
}
