//! Errors shared by the domain and the store. Every client mistake carries a stable machine-readable
//! code and, where there is one, the field at fault; the HTTP layer maps these to 4xx responses.

use std::borrow::Cow;

/// A client mistake in one field (or in the request as a whole when `field` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// Stable code, e.g. `invalid_time_zone`, `too_long`.
    pub code: &'static str,
    /// JSON path of the offending field, e.g. `recurrence.interval`.
    pub field: Option<Cow<'static, str>>,
    pub message: String,
}

impl Invalid {
    pub fn new(
        code: &'static str,
        field: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code,
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// Prefix the field path, so nested validators can report `recurrence.interval`.
    pub fn under(mut self, parent: &str) -> Self {
        self.field = Some(match self.field {
            Some(f) if f.starts_with('[') => format!("{parent}{f}").into(),
            Some(f) => format!("{parent}.{f}").into(),
            None => parent.to_owned().into(),
        });
        self
    }
}

/// Everything a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The row does not exist *for this user* (another user's row is indistinguishable from none).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was violated (e.g. a tag name or an email already in use).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        field: &'static str,
        message: String,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;
