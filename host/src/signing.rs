//! Signed bundles: ed25519 signatures (ed25519-dalek) over a bundle's bytes.
//!
//! Files are one line of text each, so they survive any store and diff:
//!
//! - a secret key: `finegrain-ed25519-secret HEX` (the 32-byte seed);
//! - a public key: `finegrain-ed25519-public HEX`;
//! - a signature `BUNDLE.sig`: `finegrain-ed25519-signature KEYHEX SIGHEX`, naming
//!   the public key that made it.
//!
//! A host configured with [`TrustedKeys`] accepts a bundle only when its
//! signature verifies under one of them; anything else is a [`SignatureError`].

use std::fmt;
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

const SECRET_TAG: &str = "finegrain-ed25519-secret";
const PUBLIC_TAG: &str = "finegrain-ed25519-public";
const SIGNATURE_TAG: &str = "finegrain-ed25519-signature";

/// Why a key or signature was refused. Messages are one line and never
/// contain key material beyond a public key's first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// A file could not be read or written.
    Io { file: String, message: String },
    /// A key or signature file is not in its format.
    Malformed { file: String, message: String },
    /// The bundle has no signature and the host requires one.
    Unsigned,
    /// The signature names a key the host does not trust.
    UntrustedKey { key: String },
    /// The signature does not match the bundle under the key it names.
    Invalid { key: String },
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureError::Io { file, message } => write!(f, "{file}: {message}"),
            SignatureError::Malformed { file, message } => write!(f, "{file}: {message}"),
            SignatureError::Unsigned => write!(f, "the bundle is not signed and this host requires a signature"),
            SignatureError::UntrustedKey { key } => {
                write!(f, "the bundle is signed by key {key}…, which this host does not trust")
            }
            SignatureError::Invalid { key } => {
                write!(f, "the bundle's signature does not match its content (key {key}…)")
            }
        }
    }
}

impl std::error::Error for SignatureError {}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The first 8 bytes of a public key, in hex: how messages name a key.
fn short(key: &VerifyingKey) -> String {
    hex(&key.as_bytes()[..8])
}

/// Splits `TAG FIELD…` into its fields, checking the tag and the field count.
fn fields<'a>(file: &str, text: &'a str, tag: &str, count: usize) -> Result<Vec<&'a str>, SignatureError> {
    let malformed = |message: String| SignatureError::Malformed { file: file.to_owned(), message };
    let mut words = text.split_ascii_whitespace();
    if words.next() != Some(tag) {
        return Err(malformed(format!("expected a line starting with `{tag}`")));
    }
    let rest: Vec<&str> = words.collect();
    if rest.len() != count {
        return Err(malformed(format!("expected {count} field(s) after `{tag}`, found {}", rest.len())));
    }
    Ok(rest)
}

fn read(path: &Path) -> Result<String, SignatureError> {
    std::fs::read_to_string(path)
        .map_err(|e| SignatureError::Io { file: path.display().to_string(), message: format!("cannot read: {e}") })
}

/// A secret signing key.
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A new key from the operating system's randomness.
    pub fn generate() -> Result<SecretKey, SignatureError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| SignatureError::Io { file: "randomness".into(), message: format!("unavailable: {e}") })?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    /// The key file's text.
    pub fn to_text(&self) -> String {
        format!("{SECRET_TAG} {}\n", hex(self.0.as_bytes()))
    }

    /// Parses a key file's text; `file` names it in errors.
    pub fn from_text(file: &str, text: &str) -> Result<SecretKey, SignatureError> {
        let rest = fields(file, text, SECRET_TAG, 1)?;
        let seed = unhex::<32>(rest[0]).ok_or_else(|| SignatureError::Malformed {
            file: file.to_owned(),
            message: "the secret key is not 64 hexadecimal digits".into(),
        })?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    /// Reads a key file.
    pub fn read(path: &Path) -> Result<SecretKey, SignatureError> {
        SecretKey::from_text(&path.display().to_string(), &read(path)?)
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The signature file's text for `bundle`.
    pub fn sign(&self, bundle: &[u8]) -> String {
        let signature = self.0.sign(bundle);
        format!("{SIGNATURE_TAG} {} {}\n", hex(self.0.verifying_key().as_bytes()), hex(&signature.to_bytes()))
    }
}

/// A public key, trusted to sign bundles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The key file's text.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_TAG} {}\n", hex(self.0.as_bytes()))
    }

    /// Parses a key file's text; `file` names it in errors.
    pub fn from_text(file: &str, text: &str) -> Result<PublicKey, SignatureError> {
        let rest = fields(file, text, PUBLIC_TAG, 1)?;
        let malformed = |message: &str| SignatureError::Malformed { file: file.to_owned(), message: message.into() };
        let bytes = unhex::<32>(rest[0]).ok_or_else(|| malformed("the public key is not 64 hexadecimal digits"))?;
        VerifyingKey::from_bytes(&bytes).map(PublicKey).map_err(|_| malformed("not a valid ed25519 public key"))
    }

    /// Reads a key file.
    pub fn read(path: &Path) -> Result<PublicKey, SignatureError> {
        PublicKey::from_text(&path.display().to_string(), &read(path)?)
    }

    /// How messages name the key: its first 8 bytes in hex.
    pub fn short(&self) -> String {
        short(&self.0)
    }
}

/// The keys a host accepts bundles from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedKeys(Vec<PublicKey>);

impl TrustedKeys {
    /// Trusts these keys.
    pub fn new(keys: Vec<PublicKey>) -> TrustedKeys {
        TrustedKeys(keys)
    }

    /// Reads public key files.
    pub fn read(paths: &[impl AsRef<Path>]) -> Result<TrustedKeys, SignatureError> {
        paths.iter().map(|p| PublicKey::read(p.as_ref())).collect::<Result<_, _>>().map(TrustedKeys)
    }

    /// Whether no key is trusted (the host then requires no signature).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks `signature` (a signature file's text, `None` when there is none)
    /// over `bundle`. `file` names the signature file in errors.
    pub fn verify(&self, file: &str, bundle: &[u8], signature: Option<&str>) -> Result<PublicKey, SignatureError> {
        let text = signature.ok_or(SignatureError::Unsigned)?;
        let rest = fields(file, text, SIGNATURE_TAG, 2)?;
        let malformed = |message: &str| SignatureError::Malformed { file: file.to_owned(), message: message.into() };
        let key_bytes = unhex::<32>(rest[0]).ok_or_else(|| malformed("the key is not 64 hexadecimal digits"))?;
        let signature_bytes =
            unhex::<64>(rest[1]).ok_or_else(|| malformed("the signature is not 128 hexadecimal digits"))?;
        let Some(key) = self.0.iter().find(|k| k.0.as_bytes() == &key_bytes) else {
            return Err(SignatureError::UntrustedKey { key: hex(&key_bytes[..8]) });
        };
        let signature = Signature::from_bytes(&signature_bytes);
        key.0.verify(bundle, &signature).map_err(|_| SignatureError::Invalid { key: key.short() })?;
        Ok(key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_bundle_and_a_trusted_key() {
        let key = SecretKey::generate().unwrap();
        let other = SecretKey::generate().unwrap();
        let trusted = TrustedKeys::new(vec![key.public()]);
        let signature = key.sign(b"bundle");
        assert_eq!(trusted.verify("b.sig", b"bundle", Some(&signature)).unwrap(), key.public());
        assert_eq!(
            trusted.verify("b.sig", b"bundle!", Some(&signature)),
            Err(SignatureError::Invalid { key: key.public().short() })
        );
        assert_eq!(
            trusted.verify("b.sig", b"bundle", Some(&other.sign(b"bundle"))),
            Err(SignatureError::UntrustedKey { key: other.public().short() })
        );
        assert_eq!(trusted.verify("b.sig", b"bundle", None), Err(SignatureError::Unsigned));
    }

    #[test]
    fn keys_round_trip_through_their_text() {
        let key = SecretKey::generate().unwrap();
        let again = SecretKey::from_text("k", &key.to_text()).unwrap();
        assert_eq!(again.public(), key.public());
        assert_eq!(PublicKey::from_text("k.pub", &key.public().to_text()).unwrap(), key.public());
    }

    #[test]
    fn malformed_files_name_the_file_and_the_problem() {
        let error = PublicKey::from_text("k.pub", "finegrain-ed25519-public abc").unwrap_err();
        assert_eq!(error.to_string(), "k.pub: the public key is not 64 hexadecimal digits");
        let error = TrustedKeys::default().verify("b.sig", b"x", Some("hello")).unwrap_err();
        assert_eq!(error.to_string(), "b.sig: expected a line starting with `finegrain-ed25519-signature`");
    }
}
