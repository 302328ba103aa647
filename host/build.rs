//! Builds the engine as a WebAssembly component before the host compiles, so a
//! plain `cargo build` or `cargo test` always embeds the current engine.
//!
//! The guest is built by a nested cargo into its own target directory (the
//! outer cargo holds the lock on `target/`), for wasm32-unknown-unknown with the
//! size-optimised `guest` profile, then wrapped into a component by
//! wit-component. The component path is passed to the crate as
//! `FINEGRAIN_COMPONENT_PATH`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().expect("workspace root").to_path_buf();
    for watched in
        ["plugin/src", "plugin/Cargo.toml", "catalog/src", "catalog/data", "catalog/Cargo.toml", "wit", "Cargo.lock"]
    {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }

    let target_dir = workspace.join("target").join("guest-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args([
            "build",
            "--locked",
            "-p",
            "finegrain-engine",
            "--lib",
            "--profile",
            "guest",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    // Host-side flags (clippy, coverage, a wrapper) must not leak into the wasm build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(var);
    }
    let status = command.status().expect("cannot run cargo for the guest build");
    if !status.success() {
        panic!(
            "building the engine for wasm32-unknown-unknown failed; is the target installed? (rustup target add wasm32-unknown-unknown)"
        );
    }

    let module_path = target_dir.join("wasm32-unknown-unknown").join("guest").join("finegrain_engine.wasm");
    let module = std::fs::read(&module_path).unwrap_or_else(|e| panic!("cannot read {}: {e}", module_path.display()));
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .unwrap_or_else(|e| panic!("cannot encode the component: {e:#}"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("finegrain_engine.component.wasm");
    std::fs::write(&out, component).expect("cannot write the component");
    println!("cargo:rustc-env=FINEGRAIN_COMPONENT_PATH={}", out.display());
}
