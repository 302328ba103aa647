//! Builds the engine as a WebAssembly component before the host compiles, so a
//! plain `cargo build` or `cargo test` always embeds the current engine.
//!
//! The guest is built by a nested cargo into its own target directory (the
//! outer cargo holds the lock on `target/`), for wasm32-unknown-unknown with the
//! size-optimised `guest` profile, then wrapped into a component by
//! wit-component. The component path is passed to the crate as
//! `FINEGRAIN_COMPONENT_PATH`.
//!
//! The component then gets its identity, so any host or registry can tell what
//! it is: a component name and a `processed-by` producer (wasm-metadata), and
//! the OCI-style annotation sections `version`, `licenses`, `description` and,
//! when the workspace's Cargo.toml gives them, `source` (`repository`) and
//! `homepage`. `finegrain component` prints them.

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
    let component = with_metadata(&component);
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("finegrain_engine.component.wasm");
    std::fs::write(&out, component).expect("cannot write the component");
    println!("cargo:rustc-env=FINEGRAIN_COMPONENT_PATH={}", out.display());
}

/// What the component says about itself.
const COMPONENT_NAME: &str = "finegrain";
const COMPONENT_DESCRIPTION: &str = "finegrain authorization engine: fine-grained access tokens, legacy scopes and custom roles with GitLab's semantics";

/// The component with its name, producer and OCI-style annotations added.
fn with_metadata(component: &[u8]) -> Vec<u8> {
    let version = std::env::var("CARGO_PKG_VERSION").expect("CARGO_PKG_VERSION");
    let mut metadata = wasm_metadata::AddMetadata::default();
    metadata.name = wasm_metadata::AddMetadataField::Set(COMPONENT_NAME.to_owned());
    metadata.processed_by = vec![("finegrain-host".to_owned(), version.clone())];
    let mut bytes =
        metadata.to_wasm(component).unwrap_or_else(|e| panic!("cannot add the component's metadata: {e:#}"));
    let optional = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
    let annotations = [
        ("version", Some(version)),
        ("licenses", optional("CARGO_PKG_LICENSE")),
        ("description", Some(COMPONENT_DESCRIPTION.to_owned())),
        ("source", optional("CARGO_PKG_REPOSITORY")),
        ("homepage", optional("CARGO_PKG_HOMEPAGE")),
    ];
    for (name, value) in annotations {
        if let Some(value) = value {
            append_custom_section(&mut bytes, name, value.as_bytes());
        }
    }
    bytes
}

/// Appends a custom section (id 0) at the outermost level of a component.
fn append_custom_section(wasm: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut body = Vec::new();
    leb128(&mut body, name.len());
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    wasm.push(0);
    leb128(wasm, body.len());
    wasm.extend_from_slice(&body);
}

fn leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
