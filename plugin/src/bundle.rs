//! The policy bundle: catalog + world, encoded with postcard behind a small
//! header so that a truncated, corrupt or foreign file is recognised before
//! anything is decoded.
//!
//! Layout: `FGBUNDLE` (8 bytes) | format version (u16, little endian) | flags
//! (u16, little endian; 0 in a file) | SHA-256 of the payload (32 bytes) |
//! payload (postcard of the catalog, the world without its tokens, and the
//! token table, `tokens.rs`). An engine of format 1, which read the version as
//! a u32, reports a file of format 2 as "version 2".
//!
//! **Integrity.** The engine checks the payload's SHA-256 before decoding it,
//! except in one case: inside the WebAssembly component, a bundle whose header
//! carries [`FLAG_HOST_CHECKED`] is decoded without recomputing the digest. The
//! flag is set only by a host that has just checked the digest natively (the
//! Rust host's `EngineHost::load`, through [`Bundle::host_checked`]) and hands the
//! guest that very copy; computing SHA-256 inside the guest costs far more than
//! natively. This trusts nothing new: the process embedding the guest chooses the
//! bytes the guest loads anyway, and the digest guards against damage in storage
//! and transit (tampering is what signatures are for). The native engine ignores
//! the flag and always checks, and `bundle build` never writes it.

use finegrain_catalog::Catalog;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::tokens::TokenTable;
use crate::world::World;

const MAGIC: &[u8; 8] = b"FGBUNDLE";
/// Bumped whenever the payload's shape changes. Version 2: the token table;
/// version 3: the owner rules of object-addressed endpoints.
pub const FORMAT_VERSION: u16 = 3;
const HEADER_LEN: usize = 8 + 2 + 2 + 32;
const DIGEST: std::ops::Range<usize> = 12..HEADER_LEN;

/// Header flag: the host checked the payload's digest natively before handing
/// the bundle to the engine component (see the module documentation).
pub const FLAG_HOST_CHECKED: u16 = 1;

/// Whether this build of the engine honours [`FLAG_HOST_CHECKED`]: only the
/// component, whose bytes always come from its host.
const HONOURS_HOST_CHECK: bool = cfg!(target_arch = "wasm32");

/// What a bundle carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub catalog: Catalog,
    pub world: World,
}

/// The payload as encoded: the world's tokens travel as a [`TokenTable`], and
/// `world.tokens` is empty.
#[derive(Serialize, Deserialize)]
pub(crate) struct Payload {
    pub catalog: Catalog,
    pub world: World,
    pub tokens: TokenTable,
}

impl Bundle {
    /// Encodes the bundle with its header.
    pub fn encode(&self) -> Vec<u8> {
        let w = &self.world;
        let world = World {
            revision: w.revision,
            users: w.users.clone(),
            groups: w.groups.clone(),
            projects: w.projects.clone(),
            custom_roles: w.custom_roles.clone(),
            members: w.members.clone(),
            tokens: Vec::new(),
        };
        let tokens = TokenTable::from_tokens(&w.tokens);
        encode_payload(&Payload { catalog: self.catalog.clone(), world, tokens })
    }

    /// Encodes a bundle, consuming it (no copy of the world is made).
    pub fn into_encoded(self) -> Vec<u8> {
        let mut world = self.world;
        let tokens = TokenTable::from_tokens(&std::mem::take(&mut world.tokens));
        encode_payload(&Payload { catalog: self.catalog, world, tokens })
    }

    /// Decodes a bundle, checking magic, version and content digest first, and
    /// turns its token table back into the world's tokens.
    pub fn decode(bytes: &[u8]) -> Result<Bundle, String> {
        let mut payload = decode_payload(bytes)?;
        payload.world.tokens = payload.tokens.to_tokens()?;
        Ok(Bundle { catalog: payload.catalog, world: payload.world })
    }

    /// The hex SHA-256 of the encoded payload, for logs and `bundle build`.
    pub fn digest_hex(encoded: &[u8]) -> String {
        encoded.get(DIGEST).map(|d| d.iter().map(|b| format!("{b:02x}")).collect()).unwrap_or_default()
    }

    /// For a host about to hand `bytes` to the engine component: a bundle of
    /// this engine's format has its digest checked here, natively, and is
    /// returned with [`FLAG_HOST_CHECKED`] set; a damaged one is refused with the
    /// engine's own message. Anything else (another format version, which a
    /// newer engine swapped in may read, or not a bundle at all) is returned
    /// unchanged, for the component to judge with its own checks.
    pub fn host_checked(bytes: &[u8]) -> Result<Vec<u8>, String> {
        let ours = bytes.len() >= HEADER_LEN
            && &bytes[..8] == MAGIC
            && u16::from_le_bytes([bytes[8], bytes[9]]) == FORMAT_VERSION;
        if !ours {
            return Ok(bytes.to_vec());
        }
        let payload = checked_payload(bytes, false)?;
        let mut out = bytes[..HEADER_LEN].to_vec();
        out[10..12].copy_from_slice(&FLAG_HOST_CHECKED.to_le_bytes());
        out.extend_from_slice(payload);
        Ok(out)
    }
}

fn encode_payload(payload: &Payload) -> Vec<u8> {
    // Serialising plain owned data into a Vec cannot fail.
    let payload = postcard::to_allocvec(payload).unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&payload));
    out.extend_from_slice(&payload);
    out
}

/// The payload bytes of a bundle whose header is right and whose digest
/// matches (or, with `trust_flag` and the flag set, was checked by the host).
fn checked_payload(bytes: &[u8], trust_flag: bool) -> Result<&[u8], String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!("bundle is truncated: {} bytes, the header alone needs {HEADER_LEN}", bytes.len()));
    }
    let (header, payload) = bytes.split_at(HEADER_LEN);
    if &header[..8] != MAGIC {
        return Err("not a finegrain bundle (bad magic bytes)".into());
    }
    let version = u16::from_le_bytes([header[8], header[9]]);
    if version != FORMAT_VERSION {
        return Err(format!(
            "bundle format version {version} is not supported (this engine reads version {FORMAT_VERSION}); \
             rebuild the bundle with `finegrain bundle build`"
        ));
    }
    let flags = u16::from_le_bytes([header[10], header[11]]);
    if flags & !FLAG_HOST_CHECKED != 0 {
        return Err(format!("bundle header has unknown flags {flags:#x}"));
    }
    let vouched = trust_flag && flags & FLAG_HOST_CHECKED != 0;
    if !vouched && Sha256::digest(payload).as_slice() != &header[DIGEST] {
        return Err("bundle content digest does not match: the file is corrupt or truncated".into());
    }
    Ok(payload)
}

/// Decodes the payload of a bundle (header and digest checked first).
pub(crate) fn decode_payload(bytes: &[u8]) -> Result<Payload, String> {
    let payload = checked_payload(bytes, HONOURS_HOST_CHECK)?;
    let payload: Payload =
        postcard::from_bytes(payload).map_err(|err| format!("bundle payload cannot be decoded: {err}"))?;
    if !payload.world.tokens.is_empty() {
        return Err("bundle payload cannot be decoded: tokens outside the token table".into());
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Bundle {
        let catalog = Catalog::builtin().unwrap();
        Bundle { catalog, world: World { revision: 7, ..World::default() } }
    }

    #[test]
    fn round_trip_and_digest() {
        let encoded = bundle().encode();
        assert_eq!(Bundle::decode(&encoded).unwrap(), bundle());
        assert_eq!(bundle().into_encoded(), encoded);
        assert_eq!(Bundle::digest_hex(&encoded).len(), 64);
    }

    #[test]
    fn damage_and_old_versions_are_refused() {
        let encoded = bundle().encode();
        let mut flipped = encoded.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(Bundle::decode(&flipped).unwrap_err().contains("digest does not match"));
        let mut old = encoded.clone();
        old[8..10].copy_from_slice(&1u16.to_le_bytes());
        assert!(Bundle::decode(&old).unwrap_err().contains("version 1 is not supported"));
        assert!(Bundle::decode(&encoded[..20]).unwrap_err().contains("truncated"));
        assert!(Bundle::decode(&[b'P'; HEADER_LEN]).unwrap_err().contains("magic"));
    }

    #[test]
    fn the_native_engine_checks_even_a_host_checked_bundle() {
        let encoded = bundle().encode();
        let checked = Bundle::host_checked(&encoded).unwrap();
        assert_eq!(Bundle::decode(&checked).unwrap(), bundle());
        let mut flipped = checked.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(Bundle::decode(&flipped).is_err());
        assert!(Bundle::host_checked(&flipped).unwrap_err().contains("digest does not match"));
        assert_eq!(Bundle::host_checked(b"any bytes").unwrap(), b"any bytes", "not ours: the component judges");
        let mut newer = encoded.clone();
        newer[8] = FORMAT_VERSION as u8 + 1;
        assert_eq!(Bundle::host_checked(&newer).unwrap(), newer, "a newer format is left to a newer engine");
        let mut unknown = encoded.clone();
        unknown[10] = 2;
        assert!(Bundle::decode(&unknown).unwrap_err().contains("unknown flags"));
    }
}
