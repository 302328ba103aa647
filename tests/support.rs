//! Helpers shared by the integration tests: paths, the compiled engine
//! component (compiled once per test binary), and the fixed time of the examples.

use std::path::PathBuf;
use std::sync::OnceLock;

use finegrain_host::runtime::EngineHost;

/// The time the example and scenario files are written for.
pub const EXAMPLE_TIME: i64 = 1_795_262_400; // 2026-11-21T12:00:00Z

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// Every scenario file: the examples and `tests/scenarios/`.
pub fn scenario_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["examples", "tests/scenarios"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(workspace().join(dir))
            .expect("scenario directory")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

/// The engine component, compiled once for the whole test binary.
pub fn host() -> &'static EngineHost {
    static HOST: OnceLock<EngineHost> = OnceLock::new();
    HOST.get_or_init(|| EngineHost::new().expect("the engine component compiles"))
}
