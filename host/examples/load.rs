//! Measures loading a bundle, natively or into the engine component: the time
//! of the load alone and the process's resident memory before and after. With
//! `build`, builds the bundle as `finegrain bundle build` does.
//!
//! ```text
//! scripts/gen-large-world /tmp/w1m.yaml --tokens 1000000
//! cargo build --release -p finegrain-host --example load
//! /usr/bin/time -v target/release/examples/load build /tmp/w1m.yaml /tmp/w1m.bundle
//! target/release/examples/load /tmp/w1m.bundle native
//! target/release/examples/load /tmp/w1m.bundle component
//! ```
//!
//! One mode per run, so that each peak is its own. Linux only (reads
//! `/proc/self/status`).

use std::time::Instant;

use anyhow::{Context, Result, bail};

/// `VmRSS` and `VmHWM` (peak) of this process, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [build, world, out] = args.as_slice()
        && build == "build"
    {
        let start = Instant::now();
        let bundle =
            finegrain_host::build_bundle_file(std::path::Path::new(world)).map_err(|e| anyhow::anyhow!("{e}"))?;
        std::fs::write(out, &bundle).with_context(|| format!("{out}: cannot write"))?;
        let (_, peak) = memory();
        println!(
            "built {out} ({} bytes) in {:.0} ms, peak {peak:.0} MiB",
            bundle.len(),
            start.elapsed().as_secs_f64() * 1000.0
        );
        return Ok(());
    }
    let [path, mode] = args.as_slice() else {
        bail!("usage: load BUNDLE native|component, or load build WORLD.yaml BUNDLE");
    };
    let bytes = std::fs::read(path).with_context(|| format!("{path}: cannot read"))?;
    let host = match mode.as_str() {
        "native" => None,
        "component" => Some(finegrain_host::runtime::EngineHost::new()?),
        _ => bail!("unknown mode {mode:?} (native or component)"),
    };
    let (before, _) = memory();
    let start = Instant::now();
    match &host {
        None => {
            let authorizer = finegrain_engine::Authorizer::load(&bytes).map_err(anyhow::Error::msg)?;
            let elapsed = start.elapsed();
            let (after, peak) = memory();
            report(mode, path, bytes.len(), elapsed, before, after, peak);
            println!("revision {}", authorizer.revision());
        }
        Some(host) => {
            let mut authorizer = host.load(&bytes)?;
            let elapsed = start.elapsed();
            let (after, peak) = memory();
            report(mode, path, bytes.len(), elapsed, before, after, peak);
            println!("revision {}", authorizer.revision()?);
        }
    }
    Ok(())
}

fn report(mode: &str, path: &str, len: usize, elapsed: std::time::Duration, before: f64, after: f64, peak: f64) {
    println!(
        "{mode} load of {path} ({:.1} MiB): {:.0} ms, resident {before:.0} → {after:.0} MiB (+{:.0}), peak {peak:.0} MiB",
        len as f64 / 1048576.0,
        elapsed.as_secs_f64() * 1000.0,
        after - before
    );
}
