//! What access tokens, calendar feeds and webhooks share: a name the user gives them, and a random secret
//! with a prefix that tells its kind apart in logs and leak scanners (`tp_`, `tpcal_`, `whsec_`).

use crate::domain::task::validate_line;
use crate::error::Invalid;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The longest name a token, feed or webhook may have.
pub(crate) const NAME_MAX_CHARS: usize = 100;

/// The SHA-256 of a secret: what is stored and looked up (for tokens and feeds; a webhook's secret is
/// kept as is, since the notifier signs with it).
pub(crate) type SecretHash = [u8; 32];

/// A new secret: `prefix` and 32 random bytes, base64url.
pub(crate) fn new_secret(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    )
}

pub(crate) fn secret_hash(secret: &str) -> SecretHash {
    Sha256::digest(secret.as_bytes()).into()
}

/// A name as given, trimmed: not empty, at most [`NAME_MAX_CHARS`], no control characters.
pub(crate) fn validate_name(raw: &str) -> Result<String, Invalid> {
    validate_line(raw, "name", "name", NAME_MAX_CHARS)
}
