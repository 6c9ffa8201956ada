//! An in-memory Kubernetes API server behind kube-rs's documented mock pattern (`tower-test`
//! `mock::pair` as the client's service). It keeps objects, answers discovery, GET, LIST with
//! label selectors, server-side apply, JSON patch, status patches and DELETE, and records every
//! request so tests can count reads and writes. Like kube-apiserver it bumps
//! `metadata.generation` when an apply changes more than metadata and status, and it can be told
//! to refuse writes to a path (an invalid or immutable child). kube-apiserver cannot run here;
//! this stands in.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// HTTP method.
    pub method: Method,
    /// Path without query.
    pub path: String,
}

impl Recorded {
    /// True for anything but GET (LIST and WATCH are GETs).
    pub fn is_write(&self) -> bool {
        self.method != Method::GET
    }
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    discovery: BTreeMap<String, Vec<String>>,
    requests: Vec<Recorded>,
    resource_version: u64,
    /// Paths whose writes are refused, with the status code and message.
    refused: BTreeMap<String, (StatusCode, String)>,
}

/// Handle on the fake server's state.
#[derive(Clone)]
pub struct FakeApiServer {
    state: Arc<Mutex<State>>,
}

/// Group-versions of the optional CRDs and their plurals, for `serve_optional_crds`.
pub const DAPR: [(&str, &[&str]); 2] = [
    (
        "dapr.io/v1alpha1",
        &["components", "configurations", "resiliencies"],
    ),
    ("dapr.io/v2alpha1", &["subscriptions"]),
];

impl FakeApiServer {
    /// Start a fake server; returns the client talking to it.
    pub fn start() -> (Client, FakeApiServer) {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = FakeApiServer {
            state: Arc::new(Mutex::new(State::default())),
        };
        let state = server.state.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let (parts, body) = request.into_parts();
                let body = body.collect_bytes().await.unwrap_or_default();
                let (status, response) = handle_request(&state, &parts, &body);
                let bytes = serde_json::to_vec(&response).expect("JSON responses serialize");
                send.send_response(
                    Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(Body::from(bytes))
                        .expect("valid response"),
                );
            }
        });
        (Client::new(service, "default"), server)
    }

    /// Make the server announce a group-version with these resources (an installed CRD).
    pub fn serve_group(&self, group_version: &str, plurals: &[&str]) {
        self.state.lock().unwrap().discovery.insert(
            group_version.to_owned(),
            plurals.iter().map(|p| (*p).to_owned()).collect(),
        );
    }

    /// Announce Dapr's CRDs.
    pub fn serve_dapr(&self) {
        for (group_version, plurals) in DAPR {
            self.serve_group(group_version, plurals);
        }
    }

    /// Store an object at its API path (as if created by someone else).
    pub fn insert(&self, path: &str, mut object: Value) {
        let mut state = self.state.lock().unwrap();
        state.resource_version += 1;
        let rv = state.resource_version.to_string();
        let meta = &mut object["metadata"];
        meta["resourceVersion"] = rv.into();
        if meta["uid"].is_null() {
            meta["uid"] = format!("uid-{}", state.resource_version).into();
        }
        if meta["generation"].is_null() {
            meta["generation"] = 1.into();
        }
        state.objects.insert(path.to_owned(), object);
    }

    /// The stored object at `path`.
    pub fn get(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(path).cloned()
    }

    /// Remove an object (as if someone deleted it).
    pub fn remove(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.remove(path)
    }

    /// Set an object's status (as a kubelet or controller would).
    pub fn set_status(&self, path: &str, status: Value) {
        let mut state = self.state.lock().unwrap();
        let object = state
            .objects
            .get_mut(path)
            .unwrap_or_else(|| panic!("no object at {path}"));
        object["status"] = status;
    }

    /// Refuse every write to `path` with `code` and `message`, as kube-apiserver refuses an
    /// invalid object or a change of an immutable field.
    pub fn refuse_writes(&self, path: &str, code: StatusCode, message: &str) {
        self.state
            .lock()
            .unwrap()
            .refused
            .insert(path.to_owned(), (code, message.to_owned()));
    }

    /// Accept writes to `path` again.
    pub fn accept_writes(&self, path: &str) {
        self.state.lock().unwrap().refused.remove(path);
    }

    /// Paths of every stored object.
    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().objects.keys().cloned().collect()
    }

    /// Every request so far, and forget them.
    pub fn take_requests(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.state.lock().unwrap().requests)
    }
}

fn status(code: StatusCode, message: &str) -> (StatusCode, Value) {
    (
        code,
        json!({
            "apiVersion": "v1",
            "kind": "Status",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": code.canonical_reason().unwrap_or_default().replace(' ', ""),
            "code": code.as_u16(),
        }),
    )
}

fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&input[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8 query")
}

fn label_selector(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("labelSelector="))
        .flat_map(|selector| {
            percent_decode(selector)
                .split(',')
                .filter_map(|term| {
                    term.split_once('=')
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn matches(object: &Value, selector: &[(String, String)]) -> bool {
    selector
        .iter()
        .all(|(key, value)| object["metadata"]["labels"][key].as_str() == Some(value.as_str()))
}

/// Collection path, object name and subresource of an API path.
fn split_path(path: &str) -> Option<(String, Option<String>, Option<String>)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let prefix_len = match segments.first() {
        Some(&"api") => 2,
        Some(&"apis") => 3,
        _ => return None,
    };
    let rest = &segments[prefix_len..];
    let (collection_len, tail) = match rest {
        ["namespaces", _, _, tail @ ..] => (prefix_len + 3, tail),
        [_, tail @ ..] => (prefix_len + 1, tail),
        [] => return None,
    };
    let collection = format!("/{}", segments[..collection_len].join("/"));
    Some((
        collection,
        tail.first().map(|s| (*s).to_owned()),
        tail.get(1).map(|s| (*s).to_owned()),
    ))
}

/// The object without what does not count for its generation.
fn without_meta(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        for field in ["metadata", "status", "apiVersion", "kind"] {
            map.remove(field);
        }
    }
    object
}

fn handle_request(
    state: &Mutex<State>,
    parts: &http::request::Parts,
    body: &[u8],
) -> (StatusCode, Value) {
    let mut state = state.lock().unwrap();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    state.requests.push(Recorded {
        method: parts.method.clone(),
        path: path.clone(),
    });
    if let Some(group_version) = path
        .strip_prefix("/apis/")
        .filter(|p| p.matches('/').count() == 1)
    {
        return match state.discovery.get(group_version) {
            Some(plurals) => (
                StatusCode::OK,
                json!({
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": group_version,
                    "resources": plurals.iter().map(|p| json!({
                        "name": p, "singularName": "", "namespaced": true, "kind": p, "verbs": ["get", "list"],
                    })).collect::<Vec<_>>(),
                }),
            ),
            None => status(
                StatusCode::NOT_FOUND,
                "the server could not find the requested resource",
            ),
        };
    }
    let Some((collection, name, subresource)) = split_path(&path) else {
        return status(StatusCode::NOT_FOUND, "unknown path");
    };
    let metadata_only = parts
        .headers
        .get("accept")
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("as=PartialObjectMetadata"));
    match (parts.method.clone(), name) {
        (Method::GET, None) => {
            let selector = label_selector(&query);
            let prefix = format!("{collection}/");
            let items: Vec<Value> = state
                .objects
                .range(prefix.clone()..)
                .take_while(|(key, _)| key.starts_with(&prefix))
                .filter(|(key, object)| {
                    key.starts_with(&prefix)
                        && !key[prefix.len()..].contains('/')
                        && matches(object, &selector)
                })
                .map(|(_, object)| object.clone())
                .collect();
            (
                StatusCode::OK,
                json!({ "apiVersion": "v1", "kind": "List", "metadata": { "resourceVersion": state.resource_version.to_string() }, "items": items }),
            )
        }
        (Method::POST, None) => {
            let mut object: Value = serde_json::from_slice(body).expect("JSON body");
            let name = object["metadata"]["name"]
                .as_str()
                .unwrap_or("generated")
                .to_owned();
            state.resource_version += 1;
            object["metadata"]["resourceVersion"] = state.resource_version.to_string().into();
            let key = format!("{collection}/{name}");
            if state.objects.contains_key(&key) {
                return status(StatusCode::CONFLICT, "already exists");
            }
            state.objects.insert(key, object.clone());
            (StatusCode::CREATED, object)
        }
        (method, Some(name)) => {
            let key = format!("{collection}/{name}");
            if method != Method::GET
                && subresource.is_none()
                && let Some((code, message)) = state.refused.get(&key)
            {
                return status(*code, message);
            }
            match method {
                Method::GET => match state.objects.get(&key) {
                    Some(object) if metadata_only => (
                        StatusCode::OK,
                        json!({ "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": object["metadata"] }),
                    ),
                    Some(object) => (StatusCode::OK, object.clone()),
                    None => status(StatusCode::NOT_FOUND, "not found"),
                },
                Method::DELETE => match state.objects.remove(&key) {
                    Some(object) => (StatusCode::OK, object),
                    None => status(StatusCode::NOT_FOUND, "not found"),
                },
                Method::PUT => {
                    let object: Value = serde_json::from_slice(body).expect("JSON body");
                    state.resource_version += 1;
                    let mut object = object;
                    object["metadata"]["resourceVersion"] =
                        state.resource_version.to_string().into();
                    state.objects.insert(key, object.clone());
                    (StatusCode::OK, object)
                }
                Method::PATCH => {
                    let content_type = parts
                        .headers
                        .get("content-type")
                        .and_then(|c| c.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    state.resource_version += 1;
                    let rv = state.resource_version;
                    let existing = state.objects.get(&key).cloned();
                    let patched = if content_type.contains("json-patch") {
                        let Some(mut object) = existing else {
                            return status(StatusCode::NOT_FOUND, "not found");
                        };
                        let patch: json_patch::Patch =
                            serde_json::from_slice(body).expect("JSON patch");
                        // The apiserver's JSON patch treats a missing field as null in `test`
                        // (kube's finalizer helper relies on it); json_patch does not.
                        if object["metadata"].get("finalizers").is_none() {
                            object["metadata"]["finalizers"] = Value::Null;
                        }
                        if json_patch::patch(&mut object, &patch).is_err() {
                            return status(
                                StatusCode::UNPROCESSABLE_ENTITY,
                                "JSON patch test failed",
                            );
                        }
                        if object["metadata"]["finalizers"].is_null() {
                            object["metadata"]
                                .as_object_mut()
                                .expect("metadata")
                                .remove("finalizers");
                        }
                        object
                    } else {
                        let applied: Value =
                            serde_json::from_slice(body).expect("apply body is JSON");
                        match (existing, subresource.as_deref()) {
                            (Some(mut object), Some("status")) => {
                                object["status"] = applied["status"].clone();
                                object
                            }
                            (None, Some(_)) => return status(StatusCode::NOT_FOUND, "not found"),
                            (Some(_), Some(_)) => {
                                return status(StatusCode::NOT_FOUND, "unknown subresource");
                            }
                            (Some(current), None) => {
                                // Apply replaces what we own; the server keeps identity, finalizers
                                // and status.
                                let mut object = applied;
                                for field in [
                                    "uid",
                                    "creationTimestamp",
                                    "finalizers",
                                    "deletionTimestamp",
                                    "generation",
                                ] {
                                    if !current["metadata"][field].is_null() {
                                        object["metadata"][field] =
                                            current["metadata"][field].clone();
                                    }
                                }
                                if !current["status"].is_null() {
                                    object["status"] = current["status"].clone();
                                }
                                let generation = current["metadata"]["generation"].as_i64();
                                if let Some(generation) = generation
                                    && without_meta(&object) != without_meta(&current)
                                {
                                    object["metadata"]["generation"] = (generation + 1).into();
                                }
                                object
                            }
                            (None, None) => {
                                let mut object = applied;
                                object["metadata"]["uid"] = format!("uid-{rv}").into();
                                object["metadata"]["generation"] = 1.into();
                                object
                            }
                        }
                    };
                    let mut patched = patched;
                    patched["metadata"]["resourceVersion"] = rv.to_string().into();
                    state.objects.insert(key, patched.clone());
                    (StatusCode::OK, patched)
                }
                _ => status(StatusCode::METHOD_NOT_ALLOWED, "unsupported"),
            }
        }
        _ => status(StatusCode::METHOD_NOT_ALLOWED, "unsupported"),
    }
}
