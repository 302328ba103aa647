//! What the criterion benchmarks share: a world loaded both ways (the native
//! engine and the component), and the peers world generated from
//! `../shared/tools/authz-peers` when that folder is there.

use std::path::{Path, PathBuf};
use std::process::Command;

use finegrain_host::api::Request;
use finegrain_host::runtime::{Authorizer, EngineHost};

/// The time the example world's tokens and cases are written for
/// (2026-11-21T12:00:00Z).
pub const EXAMPLE_AT: i64 = 1_795_262_400;

/// One policy loaded natively and into a component instance.
pub struct Engines {
    /// The policy as read from disk (bundle bytes and, for YAML, the parsed file).
    pub policy: finegrain_host::Policy,
    /// The native engine.
    pub native: finegrain_engine::Authorizer,
    /// The compiled component, for further loads.
    pub host: EngineHost,
    /// The component instance holding the policy.
    pub component: Authorizer,
}

impl Engines {
    /// Reads a world, scenario or bundle file and loads it both ways; panics
    /// with the file's name on any failure (a benchmark has no other way out).
    pub fn load(path: &Path) -> Engines {
        let policy = finegrain_host::load_policy(path).unwrap_or_else(|e| panic!("{e}"));
        let native = finegrain_engine::Authorizer::load(&policy.bundle)
            .unwrap_or_else(|e| panic!("{}: native load: {e}", path.display()));
        let host = EngineHost::new().unwrap_or_else(|e| panic!("component: {e:#}"));
        let component =
            host.load(&policy.bundle).unwrap_or_else(|e| panic!("{}: component load: {e:#}", path.display()));
        Engines { policy, native, host, component }
    }

    /// The example world, `examples/acme.yaml`.
    pub fn example() -> Engines {
        Engines::load(&repository().join("examples/acme.yaml"))
    }

    /// The requests of a policy file's cases, each at its own time or `default_at`.
    pub fn case_requests_of(policy: &finegrain_host::Policy, default_at: i64) -> Vec<Request> {
        let cases = policy.file.as_ref().map(|f| f.cases.as_slice()).unwrap_or_default();
        cases.iter().map(|c| finegrain_host::scenario::case_request(c, default_at)).collect()
    }
}

/// The repository's root directory.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else the repository's `target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repository().join("target"))
}

/// The peers harness beside the repository, `../shared/tools/authz-peers`.
pub fn peers_dir() -> PathBuf {
    repository().join("../shared/tools/authz-peers")
}

/// The peers world as a finegrain scenario file (world + one case per request,
/// with the harness's expected decision), generated under the target directory
/// from the peers harness: its dump (`--engine none --dump`) converted by its
/// `scripts/to_finegrain.py`. The harness is built first if it is not. `scale`
/// is the harness's `--scale` (`small` or `large`). `Ok(None)` when the peers
/// folder is absent.
pub fn peers_scenario(scale: &str) -> Result<Option<PathBuf>, String> {
    let peers = peers_dir();
    if !peers.join("Cargo.toml").is_file() {
        return Ok(None);
    }
    let out = target_dir().join("peers-world").join(scale);
    let scenario = out.join("scenario.yaml");
    if scenario.is_file() {
        return Ok(Some(scenario));
    }
    let binary = peers_binary()?;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: cannot create: {e}", out.display()))?;
    let dump = out.join("dump.json");
    run(Command::new(&binary).args(["--scale", scale, "--engine", "none", "--dump"]).arg(&dump))?;
    run(Command::new("python3").arg(peers.join("scripts/to_finegrain.py")).arg(&dump).arg(&out).arg("--scenario"))?;
    Ok(Some(scenario))
}

/// The peers harness's release binary, built (into `TARGET/authz-peers`, the
/// peers folder being read-only) when missing.
pub fn peers_binary() -> Result<PathBuf, String> {
    let target = target_dir().join("authz-peers");
    let binary = target.join("release/authz-peers");
    if !binary.is_file() {
        eprintln!("building the peers harness (Cedar, Regorus) into {}", target.display());
        run(Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["build", "--release", "--locked", "--manifest-path"])
            .arg(peers_dir().join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target))?;
    }
    Ok(binary)
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("{command:?}: cannot start: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{command:?}: {status}")) }
}
