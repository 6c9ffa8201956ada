//! Extractors that turn every malformed request into our error contract (axum's defaults answer in plain
//! text and some of them with the wrong status).

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body; errors name the JSON path at fault.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim();
                m.eq_ignore_ascii_case("application/json")
                    || m.to_ascii_lowercase().ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "request body is too large",
                )
            } else {
                ApiError::bad_request("unreadable_body", rej.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Deserialize with the failing path, classifying serde's errors into stable codes.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        json_error(&path, &inner)
    })?;
    de.end().map_err(|e| json_error(".", &e))?;
    Ok(value)
}

fn json_error(path: &str, err: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let msg = err.to_string();
    let text = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    let quoted = || text.split('`').nth(1).map(str::to_owned);
    let join = |child: Option<String>| -> Option<String> {
        match (path, child) {
            (".", Some(c)) => Some(c),
            (".", None) => None,
            (p, Some(c)) => Some(format!("{p}.{c}")),
            (p, None) => Some(p.to_owned()),
        }
    };
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::bad_request("malformed_json", format!("malformed JSON: {msg}"))
        }
        Category::Data => {
            let (code, field) = if text.starts_with("unknown field") {
                // serde_path_to_error's path already ends at the unknown key.
                (
                    "unknown_field",
                    if path == "." {
                        quoted()
                    } else {
                        Some(path.to_owned())
                    },
                )
            } else if text.starts_with("missing field") {
                ("required", join(quoted()))
            } else if text.starts_with("invalid type") {
                ("invalid_type", join(None))
            } else {
                // Unknown enum variants, out-of-range numbers and the like.
                ("invalid_value", join(None))
            };
            let mut e = ApiError::bad_request(code, text.clone());
            e.field = field;
            e
        }
    }
}

/// Query-string parameters; unknown or malformed parameters are 400s naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(ApiQuery)
            .map_err(|e| {
                let text = e.to_string();
                let field = text.split('`').nth(1).map(str::to_owned);
                let code = if text.starts_with("unknown field") {
                    "unknown_parameter"
                } else if text.starts_with("duplicate field") {
                    "duplicate_parameter"
                } else {
                    "invalid_parameter"
                };
                let mut err = ApiError::bad_request(code, text);
                err.field = field;
                err
            })
    }
}

/// Path parameters (ids); a malformed id is a 400, not a 500 or a plain-text 400.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|rej| {
                ApiError::bad_request(
                    "invalid_path",
                    format!("{}: ids are UUIDs", rej.body_text()),
                )
                .field("id")
            })
    }
}
