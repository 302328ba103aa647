//! The hostile engine component (host/tests/hostile), built once per test run.
//!
//! The guest is built by cargo into `target/hostile-build` and encoded as a
//! component into `target/hostile.component.wasm`, where the Python and
//! JavaScript host tests find it too.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace's `target/` directory.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").join("target")
}

/// The hostile component's bytes.
pub fn hostile_component() -> &'static [u8] {
    static COMPONENT: OnceLock<Vec<u8>> = OnceLock::new();
    COMPONENT.get_or_init(build_hostile)
}

fn build_hostile() -> Vec<u8> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("hostile");
    let build_dir = target_dir().join("hostile-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&crate_dir)
        .args(["build", "--locked", "--release", "--target", "wasm32-unknown-unknown", "--target-dir"])
        .arg(&build_dir);
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "CARGO_TARGET_DIR"]
    {
        command.env_remove(var);
    }
    let status = command.status().expect("cannot run cargo for the hostile guest");
    assert!(status.success(), "building the hostile guest failed");
    let module_path = build_dir.join("wasm32-unknown-unknown/release/finegrain_hostile_guest.wasm");
    let module = std::fs::read(&module_path).expect("the hostile guest module");
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .expect("the hostile guest encodes as a component");
    let out = target_dir().join("hostile.component.wasm");
    let partial = out.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&partial, &component).expect("cannot write the hostile component");
    std::fs::rename(&partial, &out).expect("cannot move the hostile component into place");
    component
}
