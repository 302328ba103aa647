//! Token secrets: generation and the offline format check.
//!
//! A secret is `PREFIX` + 32 random base62 characters + a 6-character base62
//! checksum:
//!
//! ```text
//! glpat-3kTq0ZbV9mWc8YxR1sLh4NdJ7fGa2PeU  0b7XkQ
//! ^^^^^^ ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ ^^^^^^
//! prefix random: 32 × log2(62) ≈ 190 bits CRC32 of prefix + random, base62, zero-padded
//! ```
//!
//! (without the spaces). The random part comes from the operating system's
//! random source (`getrandom`), one base62 character per byte by rejection
//! sampling so every character is uniform. The checksum lets a secret scanner
//! recognise a well-formed finegrain token without asking anyone
//! ([`verify_format`]); it is not a security feature. The secret itself is shown
//! once and kept only as its SHA-256 digest.

use std::fmt;

/// The prefix used unless the store's `token_prefix` setting says otherwise.
pub const DEFAULT_PREFIX: &str = "glpat-";
/// Base62 characters of randomness in a secret.
pub const RANDOM_LEN: usize = 32;
/// Base62 characters of checksum at the end of a secret (62^6 > 2^32).
pub const CHECKSUM_LEN: usize = 6;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A token secret. Its `Debug` form never shows it; call [`Secret::expose`] to
/// print it, once, to the person who created the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the secret, the only form the store keeps.
    pub fn digest(&self) -> [u8; 32] {
        finegrain_engine::world::secret_digest(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why a text is not a well-formed secret. The messages never repeat the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// It does not start with the expected prefix.
    WrongPrefix { expected: String },
    /// The part after the prefix has the wrong length.
    WrongLength { found: usize },
    /// The part after the prefix holds a character outside `[0-9A-Za-z]`.
    NotBase62,
    /// The checksum does not match: a typo, a truncation, or not a finegrain token.
    ChecksumMismatch,
    /// A configured prefix is unusable.
    BadPrefix { prefix: String },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::WrongPrefix { expected } => write!(f, "the token does not start with {expected:?}"),
            FormatError::WrongLength { found } => {
                write!(f, "the token has {found} characters after its prefix, not {}", RANDOM_LEN + CHECKSUM_LEN)
            }
            FormatError::NotBase62 => f.write_str("the token has characters outside 0-9, A-Z and a-z after its prefix"),
            FormatError::ChecksumMismatch => f.write_str("the token's checksum does not match"),
            FormatError::BadPrefix { prefix } => {
                write!(f, "token prefix {prefix:?} must be 1 to 20 characters of a-z, A-Z, 0-9, '-' and '_'")
            }
        }
    }
}

impl std::error::Error for FormatError {}

/// Checks that a prefix is usable: 1–20 characters of `[A-Za-z0-9_-]`.
pub fn check_prefix(prefix: &str) -> Result<(), FormatError> {
    let ok =
        (1..=20).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(FormatError::BadPrefix { prefix: prefix.to_owned() }) }
}

/// Draws a new secret with this prefix from the operating system's random source.
pub fn generate(prefix: &str) -> Result<Secret, String> {
    check_prefix(prefix).map_err(|e| e.to_string())?;
    let mut random = String::with_capacity(RANDOM_LEN);
    let mut pool = [0u8; 64];
    while random.len() < RANDOM_LEN {
        getrandom::fill(&mut pool).map_err(|e| format!("the operating system's random source failed: {e}"))?;
        // 248 = 4 × 62: bytes below it map uniformly onto the alphabet.
        for &byte in pool.iter().filter(|&&b| b < 248) {
            if random.len() == RANDOM_LEN {
                break;
            }
            random.push(char::from(ALPHABET[usize::from(byte % 62)]));
        }
    }
    let checksum = checksum(prefix, &random);
    Ok(Secret(format!("{prefix}{random}{checksum}")))
}

/// The checksum of a secret: CRC32 of `prefix + random`, base62, zero-padded.
fn checksum(prefix: &str, random: &str) -> String {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(prefix.as_bytes());
    hasher.update(random.as_bytes());
    let mut value = hasher.finalize();
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

/// Whether `text` is a well-formed secret with this prefix: the right length,
/// base62 only, and a matching checksum. Needs no store and no network.
pub fn verify_format(text: &str, prefix: &str) -> Result<(), FormatError> {
    let body = text.strip_prefix(prefix).ok_or_else(|| FormatError::WrongPrefix { expected: prefix.to_owned() })?;
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(FormatError::NotBase62);
    }
    if body.len() != RANDOM_LEN + CHECKSUM_LEN {
        return Err(FormatError::WrongLength { found: body.chars().count() });
    }
    let (random, check) = body.split_at(RANDOM_LEN);
    let expected = checksum(prefix, random);
    // Constant time, as everywhere a secret-derived value is compared.
    if subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), check.as_bytes()).into() {
        Ok(())
    } else {
        Err(FormatError::ChecksumMismatch)
    }
}

/// Compares two digests in constant time.
pub fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_well_formed_and_distinct() {
        let a = generate(DEFAULT_PREFIX).unwrap();
        let b = generate(DEFAULT_PREFIX).unwrap();
        assert_ne!(a, b);
        for s in [&a, &b] {
            assert_eq!(s.expose().len(), DEFAULT_PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN);
            assert_eq!(verify_format(s.expose(), DEFAULT_PREFIX), Ok(()));
        }
        assert_eq!(format!("{a:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn the_format_check_catches_typos_and_foreign_tokens() {
        let secret = generate("fg_").unwrap();
        let text = secret.expose();
        assert_eq!(verify_format(text, "fg_"), Ok(()));
        assert_eq!(verify_format(text, "glpat-"), Err(FormatError::WrongPrefix { expected: "glpat-".into() }));
        // Change one random character: the checksum notices.
        let mut bytes = text.as_bytes().to_vec();
        bytes[5] = if bytes[5] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(bytes).unwrap();
        assert_eq!(verify_format(&typo, "fg_"), Err(FormatError::ChecksumMismatch));
        assert_eq!(verify_format(&text[..text.len() - 1], "fg_"), Err(FormatError::WrongLength { found: 37 }));
        assert_eq!(verify_format("fg_abc-def", "fg_"), Err(FormatError::NotBase62));
        assert_eq!(verify_format("glpat-alice-ci-secret", "glpat-"), Err(FormatError::NotBase62));
    }

    #[test]
    fn errors_never_repeat_the_text() {
        let secret = generate(DEFAULT_PREFIX).unwrap();
        let broken = format!("{}x", secret.expose());
        let message = verify_format(&broken, DEFAULT_PREFIX).unwrap_err().to_string();
        assert!(!message.contains(&secret.expose()[6..]), "{message}");
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(check_prefix("glpat-").is_ok());
        assert!(check_prefix("").is_err());
        assert!(check_prefix("has space").is_err());
        assert!(generate("bad prefix").is_err());
    }
}
