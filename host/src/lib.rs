//! The finegrain host library.
//!
//! - [`runtime`]: load the engine component with wasmtime and ask it questions;
//! - [`world_file`]: read world and scenario files (docs/world-files.md);
//! - [`build_bundle`] / [`load_policy`]: turn a world into a policy bundle;
//! - [`scenario`]: run scenario cases through the component.
//!
//! The engine's request and decision types are re-exported as [`api`].

pub mod cache;
mod convert;
pub mod failure;
pub mod limits;
pub mod poller;
pub mod pool;
pub mod runtime;
pub mod scenario;
pub mod signing;
pub mod time;
pub mod world_file;

use std::path::Path;

pub use finegrain_engine::api;
pub use finegrain_engine::bundle::Bundle;
pub use finegrain_engine::world::World;
pub use world_file::InputError;

/// Compiles a world against the built-in catalog into bundle bytes.
///
/// The bundle is loaded by the native engine before it is returned, so a bad
/// world is reported (as `section[index].field: problem`) before anything is
/// written, and what is checked is exactly what will be loaded. The world is
/// consumed, never copied.
pub fn build_bundle(world: World) -> Result<Vec<u8>, String> {
    let catalog = finegrain_catalog::Catalog::builtin().map_err(|e| format!("built-in catalog: {e}"))?;
    let bundle = Bundle { catalog, world }.into_encoded();
    finegrain_engine::Authorizer::load(&bundle)?;
    Ok(bundle)
}

/// Compiles a world file (YAML) into bundle bytes, keeping nothing else: the
/// path of `finegrain bundle build`. A bundle given as the world is refused.
pub fn build_bundle_file(path: &Path) -> Result<Vec<u8>, InputError> {
    let name = path.display().to_string();
    let error = |message: String| InputError { file: name.clone(), line: None, message };
    let bytes = std::fs::read(path).map_err(|e| error(format!("cannot read: {e}")))?;
    if bytes.starts_with(b"FGBUNDLE") {
        return Err(error("is already a bundle".into()));
    }
    let text = String::from_utf8(bytes).map_err(|_| error("not UTF-8 text and not a finegrain bundle".into()))?;
    let world = world_file::parse(&name, &text)?.world;
    build_bundle(world).map_err(|message| world_file::place_error(&name, &text, &message))
}

/// A policy read from disk: bundle bytes, and the parsed file when it was YAML.
pub struct Policy {
    pub bundle: Vec<u8>,
    pub file: Option<world_file::WorldFile>,
}

/// Reads a world (YAML) or a bundle, recognised by its magic bytes.
pub fn load_policy(path: &Path) -> Result<Policy, InputError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| InputError {
        file: name.clone(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    if bytes.starts_with(b"FGBUNDLE") {
        // The header and content digest are checked here, natively; the engine
        // that loads the bundle judges the rest with its own checks (decoding
        // it here as well would load every bundle twice).
        finegrain_engine::Bundle::host_checked(&bytes).map_err(|message| InputError {
            file: name,
            line: None,
            message,
        })?;
        return Ok(Policy { bundle: bytes, file: None });
    }
    let text = String::from_utf8(bytes).map_err(|_| InputError {
        file: name.clone(),
        line: None,
        message: "not UTF-8 text and not a finegrain bundle".into(),
    })?;
    let parsed = world_file::parse(&name, &text)?;
    let bundle =
        build_bundle(parsed.world.clone()).map_err(|message| world_file::place_error(&name, &text, &message))?;
    Ok(Policy { bundle, file: Some(parsed) })
}
