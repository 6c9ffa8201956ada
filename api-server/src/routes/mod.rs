//! HTTP handlers: thin — extract, call the store, map the result.

pub mod accounts;
pub mod activity;
pub mod calendar;
pub mod deliveries;
pub mod health;
pub mod internal;
pub mod live;
pub mod mcp;
pub mod notifications;
pub mod projects;
pub mod reminders;
pub mod tags;
pub mod tasks;
pub mod tokens;
pub mod views;

use crate::error::ErrorBody;

/// Error responses every authenticated JSON operation can return; listed in the OpenAPI document so
/// clients (and schemathesis) know their shape.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum CommonErrors {
    /// Malformed JSON, unknown field, wrong type or bad parameter.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// Missing, invalid, expired or revoked token.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The credential may not do this: a read-only access token asked for a change
    /// (`read_only_token`), or an access token tried to manage access tokens (`session_required`).
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Not found (another user's resources are indistinguishable from missing ones).
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// Body too large.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// Body is not JSON.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// A value is out of range or invalid (`field` names it).
    #[response(status = 422)]
    Invalid(ErrorBody),
}
