//! Validating what a running gateway is about to serve: a new engine
//! component, and every policy snapshot against a canary scenario file.
//!
//! An engine component is accepted only when, in this order:
//!
//! 1. its signature (`FILE.sig`, the bundle signature format) verifies under
//!    the trusted keys, when keys are configured;
//! 2. it compiles (on wasmtime's pooling allocator, [`slots`] instances), and its imports are ones this host provides (wasmtime's
//!    `instantiate_pre` with the host's bindings);
//! 3. it exports the engine interfaces at the WIT version this host was built
//!    against (the names of the built-in component's exports, version included);
//!
//! then [`crate::decider::PoolDecider`] instantiates it with the policy and
//! runs the [`Canary`] cases on the result before swapping it in.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use finegrain_host::api::Timestamp;
use finegrain_host::limits::Limits;
use finegrain_host::runtime::{Authorizer, EngineHost};
use finegrain_host::signing::TrustedKeys;
use finegrain_host::world_file::Case;
use finegrain_host::{scenario, world_file};
use sha2::{Digest, Sha256};

/// An engine component that passed validation, with its identity.
pub struct Engine {
    /// The compiled component.
    pub host: EngineHost,
    /// `sha256:HEX` of the component's bytes.
    pub digest: String,
}

/// Pool slots an engine needs for `workers` instances: the snapshot serving,
/// the one kept for a rollback, the one being built, and one rebuild after a
/// trap per worker, plus a few for canaries and validation.
pub fn slots(workers: usize) -> u32 {
    u32::try_from(workers.saturating_mul(4).saturating_add(4)).unwrap_or(u32::MAX)
}

/// Compiles a component on the pooling allocator, `slots` instances.
fn compile(bytes: &[u8], slots: u32) -> Result<EngineHost> {
    finegrain_host::pool::pooled(bytes, Limits::default(), slots)
}

impl Engine {
    /// The engine built into this binary (trusted as it is), with `slots` pooled instances.
    pub fn builtin(slots: u32) -> Result<Arc<Engine>> {
        let component = finegrain_host::runtime::COMPONENT;
        let host =
            compile(component, slots).map_err(|e| anyhow!("cannot compile the built-in engine component: {e:#}"))?;
        Ok(Arc::new(Engine { host, digest: digest(component) }))
    }

    /// The first 12 hex digits of the digest: how logs name an engine.
    pub fn short(&self) -> &str {
        let hex = self.digest.trim_start_matches("sha256:");
        &hex[..hex.len().min(12)]
    }
}

/// `sha256:HEX` of some bytes.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Reads a component file and its signature (`FILE.sig`, absent is `None`).
pub fn read_component(path: &Path) -> Result<(Vec<u8>, Option<String>)> {
    let bytes = std::fs::read(path).map_err(|e| anyhow!("{}: cannot read: {e}", path.display()))?;
    let mut sig_path = path.as_os_str().to_owned();
    sig_path.push(".sig");
    let signature = match std::fs::read_to_string(&sig_path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => bail!("{}: cannot read: {e}", Path::new(&sig_path).display()),
    };
    Ok((bytes, signature))
}

/// Validates an engine component (steps 1 to 3 above). `name` names it in
/// errors; `reference` is the built-in engine whose interface versions it must match.
pub fn validate_engine(
    name: &str,
    bytes: &[u8],
    signature: Option<&str>,
    trusted: &TrustedKeys,
    reference: &EngineHost,
    slots: u32,
) -> Result<Engine> {
    if !trusted.is_empty() {
        trusted.verify(&format!("{name}.sig"), bytes, signature).map_err(|e| anyhow!("{name}: {e}"))?;
    }
    let host = compile(bytes, slots).map_err(|e| anyhow!("{name}: {e:#}"))?;
    let offered: Vec<String> = host.describe().exports.into_iter().map(|item| item.name).collect();
    for wanted in reference.describe().exports.into_iter().map(|item| item.name) {
        if !offered.contains(&wanted) {
            bail!("{name}: the component does not export {wanted:?} (it exports {offered:?})");
        }
    }
    Ok(Engine { host, digest: digest(bytes) })
}

/// Scenario cases every snapshot must pass before it serves.
pub struct Canary {
    file: String,
    cases: Vec<Case>,
}

impl Canary {
    /// Reads the cases of a scenario file (the format of `finegrain test`).
    /// Its `world` section, if any, is not used: the cases run against the
    /// policy about to be served, so they name that policy's tokens.
    pub fn read(path: &Path) -> Result<Canary> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| anyhow!("{file}: cannot read: {e}"))?;
        let parsed = world_file::parse(&file, &text).map_err(|e| anyhow!("{e}"))?;
        if parsed.cases.is_empty() {
            bail!("{file}: the canary has no cases");
        }
        Ok(Canary { file, cases: parsed.cases })
    }

    /// Runs the cases at time `at`; the error names the first failing ones.
    pub fn check(&self, authorizer: &mut Authorizer, at: Timestamp) -> Result<()> {
        let failed: Vec<String> = scenario::run(authorizer, &self.cases, at)
            .into_iter()
            .filter(|outcome| !outcome.passed)
            .map(|o| format!("{:?} expected {}, got {}", o.name, o.expected, scenario::summary(&o.decision)))
            .collect();
        match failed.len() {
            0 => Ok(()),
            n => Err(anyhow!("canary {}: {n} case(s) failed: {}", self.file, failed[..n.min(3)].join("; "))),
        }
    }
}
