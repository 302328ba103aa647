//! Reading an HTTP request the way the engine needs it.

use finegrain_engine::api::{Code, Decision, Effect, Reason, Timestamp};
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// The time of a request: seconds since 1970 (the engine has no clock).
pub fn now() -> Timestamp {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as Timestamp).unwrap_or(0)
}

/// SHA-256 of a secret: what a policy keeps instead of the secret.
pub fn token_digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The headers as `(name, value)` text pairs. A value that is not UTF-8 is an
/// error: the engine could not read it the way the forge would.
pub(crate) fn header_pairs(headers: &HeaderMap) -> Result<Vec<(String, String)>, String> {
    headers
        .iter()
        .map(|(name, value)| match value.to_str() {
            Ok(text) => Ok((name.as_str().to_owned(), text.to_owned())),
            Err(_) => Err(format!("the {name} header is not text")),
        })
        .collect()
}

/// A deny the filter decides itself, for input it cannot hand to the engine.
pub(crate) fn malformed(detail: String, revision: u64) -> Decision {
    Decision {
        effect: Effect::Deny,
        reasons: vec![Reason { code: Code::MalformedRequest.as_str().into(), detail: Some(detail) }],
        required_permissions: Vec::new(),
        accepted_permissions: Vec::new(),
        boundary: None,
        namespace: None,
        revision,
    }
}
