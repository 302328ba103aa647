//! The compiled-component cache: compiling the engine component with Cranelift
//! takes most of a short CLI run, so the compiled form (wasmtime's own
//! serialization) is kept on disk and reused while nothing it depends on changes.
//!
//! **Where.** `$FINEGRAIN_CACHE_DIR` when set, else `$XDG_CACHE_HOME/finegrain`,
//! else `$HOME/.cache/finegrain` (an empty variable counts as unset).
//!
//! **Key.** An entry's file name is made of the SHA-256 of the component's bytes
//! and a SHA-256 of [`Engine::precompile_compatibility_hash`], which covers the
//! wasmtime version, the target and every compilation setting of the engine's
//! configuration. A new component, a new wasmtime or a different configuration
//! therefore looks for a different file.
//!
//! **Verification.** An entry is `FGCACHE1` | SHA-256 of the compiled bytes (32
//! bytes) | the compiled bytes. It is read into memory, its digest checked, and
//! only the checked bytes are handed to [`Component::deserialize`], which also
//! checks wasmtime's own header (version and configuration). An entry that is
//! short, corrupt or rejected is ignored: the component is compiled afresh and
//! the entry rewritten. Entries are written to a temporary file in the same
//! directory and renamed into place, so a reader sees a whole entry or none.
//!
//! The cache never makes the host fail: if the directory cannot be created or
//! written, the component is compiled as if there were no cache.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The environment variable naming the cache directory.
pub const CACHE_DIR_VAR: &str = "FINEGRAIN_CACHE_DIR";

/// The first bytes of every entry.
const MAGIC: &[u8; 8] = b"FGCACHE1";
const HEADER_LEN: usize = MAGIC.len() + 32;

/// The cache directory the environment names, or `None` when it names none.
pub fn default_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var(CACHE_DIR_VAR).or_else(|| {
        var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|home| home.join(".cache"))).map(|dir| dir.join("finegrain"))
    })
}

/// A [`Hasher`] that feeds SHA-256, so a `Hash` value gives the same digest in
/// every process and with every Rust release (unlike `DefaultHasher`).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Never called for the key; `Hasher` needs it.
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes([digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7]])
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The entry's file name for `component` compiled by `engine`.
pub fn entry_name(engine: &Engine, component: &[u8]) -> String {
    let mut hasher = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let engine_key = hasher.0.finalize();
    format!("engine-{}-{}.cwasm", hex(&Sha256::digest(component)), hex(&engine_key[..16]))
}

/// The compiled component: from the cache in `dir` when a verified entry is
/// there, else compiled and stored. With `dir` `None`, simply compiled.
pub fn component(engine: &Engine, bytes: &[u8], dir: Option<&Path>) -> Result<Component> {
    let Some(dir) = dir else {
        return Component::new(engine, bytes).map_err(|e| anyhow!("{e}"));
    };
    let path = dir.join(entry_name(engine, bytes));
    if let Some(component) = read_entry(engine, &path) {
        return Ok(component);
    }
    let compiled = engine.precompile_component(bytes).map_err(|e| anyhow!("{e}"))?;
    if let Err(e) = write_entry(dir, &path, &compiled) {
        log::warn!(target: "finegrain", "cannot write the compiled-component cache {}: {e}", path.display());
    }
    // SAFETY: `compiled` was produced just now by `precompile_component` of this engine.
    unsafe { Component::deserialize(engine, &compiled) }.map_err(|e| anyhow!("{e}"))
}

/// A verified entry, or `None` when it is missing, corrupt or not for this engine.
fn read_entry(engine: &Engine, path: &Path) -> Option<Component> {
    let bytes = std::fs::read(path).ok()?;
    let compiled = verified(&bytes)?;
    // SAFETY: wasmtime requires the bytes to come from its own serialization and
    // not to have been tampered with. They were written by `write_entry` from
    // `precompile_component`, and their SHA-256 was checked just now on this very
    // copy in memory; wasmtime checks its version and configuration itself.
    match unsafe { Component::deserialize(engine, compiled) } {
        Ok(component) => Some(component),
        Err(e) => {
            log::warn!(target: "finegrain", "ignoring the compiled-component cache {}: {e}", path.display());
            None
        }
    }
}

/// The compiled bytes of an entry whose header and digest are right.
fn verified(entry: &[u8]) -> Option<&[u8]> {
    if entry.len() < HEADER_LEN || &entry[..MAGIC.len()] != MAGIC {
        return None;
    }
    let (header, compiled) = entry.split_at(HEADER_LEN);
    (Sha256::digest(compiled).as_slice() == &header[MAGIC.len()..]).then_some(compiled)
}

/// Writes an entry atomically: a temporary file in `dir`, then a rename.
fn write_entry(dir: &Path, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let temp = dir.join(format!(".tmp-{}-{nanos}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(MAGIC)?;
        file.write_all(&Sha256::digest(compiled))?;
        file.write_all(compiled)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest valid component.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("finegrain-cache-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).unwrap()
    }

    #[test]
    fn an_entry_is_written_then_reused() {
        let (engine, dir) = (engine(), temp_dir("reuse"));
        component(&engine, EMPTY_COMPONENT, Some(&dir)).unwrap();
        let path = dir.join(entry_name(&engine, EMPTY_COMPONENT));
        let entry = std::fs::read(&path).unwrap();
        assert!(verified(&entry).is_some());
        assert!(read_entry(&engine, &path).is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_corrupt_entry_is_ignored_and_rewritten() {
        let (engine, dir) = (engine(), temp_dir("corrupt"));
        component(&engine, EMPTY_COMPONENT, Some(&dir)).unwrap();
        let path = dir.join(entry_name(&engine, EMPTY_COMPONENT));
        let good = std::fs::read(&path).unwrap();
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        std::fs::write(&path, &bad).unwrap();
        assert!(read_entry(&engine, &path).is_none(), "a flipped bit must not be trusted");
        component(&engine, EMPTY_COMPONENT, Some(&dir)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), good);
        std::fs::write(&path, b"FGCACHE1").unwrap();
        assert!(read_entry(&engine, &path).is_none(), "a truncated entry must not be trusted");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_key_follows_the_component_and_the_configuration() {
        let engine = engine();
        let other = b"\0asm\x0d\0\x01\0\0\x02\x01\0";
        assert_ne!(entry_name(&engine, EMPTY_COMPONENT), entry_name(&engine, other));
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let epochs = Engine::new(&config).unwrap();
        assert_ne!(entry_name(&engine, EMPTY_COMPONENT), entry_name(&epochs, EMPTY_COMPONENT));
        assert_eq!(entry_name(&epochs, EMPTY_COMPONENT), entry_name(&Engine::new(&config).unwrap(), EMPTY_COMPONENT));
    }
}
