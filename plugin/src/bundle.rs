//! The policy bundle: catalog + world, encoded with postcard behind a small
//! header so that a truncated, corrupt or foreign file is recognised before
//! anything is decoded.
//!
//! Layout: `FGBUNDLE` (8 bytes) | format version (u32, little endian) |
//! SHA-256 of the payload (32 bytes) | payload (postcard of [`Bundle`]).

use finegrain_catalog::Catalog;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::world::World;

const MAGIC: &[u8; 8] = b"FGBUNDLE";
/// Bumped whenever the payload's shape changes.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 32;

/// What a bundle carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub catalog: Catalog,
    pub world: World,
}

impl Bundle {
    /// Encodes the bundle with its header.
    pub fn encode(&self) -> Vec<u8> {
        // Serialising plain owned data into a Vec cannot fail.
        let payload = postcard::to_allocvec(self).unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&payload));
        out.extend_from_slice(&payload);
        out
    }

    /// Decodes a bundle, checking magic, version and content digest first.
    pub fn decode(bytes: &[u8]) -> Result<Bundle, String> {
        if bytes.len() < HEADER_LEN {
            return Err(format!("bundle is truncated: {} bytes, the header alone needs {HEADER_LEN}", bytes.len()));
        }
        let (header, payload) = bytes.split_at(HEADER_LEN);
        if &header[..8] != MAGIC {
            return Err("not a finegrain bundle (bad magic bytes)".into());
        }
        let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
        if version != FORMAT_VERSION {
            return Err(format!(
                "bundle format version {version} is not supported (this engine reads version {FORMAT_VERSION})"
            ));
        }
        if Sha256::digest(payload).as_slice() != &header[12..] {
            return Err("bundle content digest does not match: the file is corrupt or truncated".into());
        }
        postcard::from_bytes(payload).map_err(|err| format!("bundle payload cannot be decoded: {err}"))
    }

    /// The hex SHA-256 of the encoded payload, for logs and `bundle build`.
    pub fn digest_hex(encoded: &[u8]) -> String {
        encoded.get(12..HEADER_LEN).map(|d| d.iter().map(|b| format!("{b:02x}")).collect()).unwrap_or_default()
    }
}
