//! `finegrain bench`: the cases of scenario files decided many times, natively
//! and through the engine component, as `opa bench` does for Rego.
//!
//! Each decision is timed alone (a pair of `Instant::now()` calls around one
//! `check`, about 30 ns of the figure), so the median and the 99th percentile
//! are per decision. Load times are the bundle decoded by the native engine and
//! loaded into a fresh component instance; the peak memory is the process's
//! high-water mark (`VmHWM`), which includes the compiled component. The
//! component's `check-batch` is timed too, in batches of [`BATCH`] requests:
//! the cost per decision when a host pays the call boundary once per batch.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use clap::Args;
use finegrain_host::api::{Decision, Request, Timestamp};
use finegrain_host::runtime::EngineHost;
use finegrain_host::scenario;
use serde::Serialize;

/// Requests per timed `check-batch` call.
const BATCH: usize = 1000;

/// `finegrain bench`'s arguments.
#[derive(Args)]
pub struct BenchArgs {
    /// Scenario files (a world with `cases:`), as `finegrain test` reads them.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Timed decisions per engine and file, cycling through the cases.
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    samples: usize,
    /// Time for cases without `at:` (date, RFC 3339 or Unix seconds); default: now.
    #[arg(long)]
    at: Option<String>,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
}

/// The median and 99th percentile of one engine's decisions, in nanoseconds.
#[derive(Serialize, Clone, Copy)]
struct Percentiles {
    median_ns: u64,
    p99_ns: u64,
}

/// One file's figures.
#[derive(Serialize)]
struct FileReport {
    file: String,
    cases: usize,
    /// Cases whose decision met their expectation.
    passed: usize,
    /// Milliseconds to read the file and compile its world into a bundle.
    build_ms: f64,
    bundle_bytes: usize,
    native_load_ms: f64,
    component_load_ms: f64,
    native: Percentiles,
    component: Percentiles,
    /// Nanoseconds per decision of the component's `check-batch`: the median
    /// over the timed batches.
    component_batch_ns: u64,
}

/// Runs `finegrain bench`. A case on which the native engine and the component
/// disagree is an error (the timings would compare different work).
pub fn bench(host: &EngineHost, compile: Duration, args: &BenchArgs) -> Result<ExitCode> {
    if args.samples == 0 {
        bail!("--samples 0: give at least one");
    }
    let default_at = crate::at_or_now(&args.at)?;
    let (mut reports, mut native_all, mut component_all) = (Vec::new(), Vec::new(), Vec::new());
    for path in &args.files {
        let (report, native, component) = bench_file(host, path, default_at, args.samples)?;
        if !args.json {
            print_file(&report);
        }
        reports.push(report);
        native_all.extend(native);
        component_all.extend(component);
    }
    let summary = Summary {
        native: percentiles(&mut native_all),
        component: percentiles(&mut component_all),
        load_ms: reports.iter().map(|r| r.component_load_ms).sum(),
        native_load_ms: reports.iter().map(|r| r.native_load_ms).sum(),
        compile_ms: millis(compile),
        peak_rss_mib: peak_rss_mib(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary.json(&reports))?);
    } else {
        summary.print(reports.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads one scenario file both ways, checks that the two agree on every case,
/// then times `samples` decisions with each; returns the report and the samples.
fn bench_file(
    host: &EngineHost,
    path: &std::path::Path,
    default_at: Timestamp,
    samples: usize,
) -> Result<(FileReport, Vec<u64>, Vec<u64>)> {
    let started = Instant::now();
    let policy = finegrain_host::load_policy(path).map_err(|e| anyhow!("{e}"))?;
    let build = started.elapsed();
    let cases = policy.file.map(|f| f.cases).unwrap_or_default();
    if cases.is_empty() {
        bail!("{}: no cases to run", path.display());
    }
    let started = Instant::now();
    let native = finegrain_engine::Authorizer::load(&policy.bundle).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let native_load = started.elapsed();
    let started = Instant::now();
    let mut component = host.load(&policy.bundle).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let component_load = started.elapsed();

    let requests: Vec<Request> = cases.iter().map(|c| scenario::case_request(c, default_at)).collect();
    let mut passed = 0;
    for (case, request) in cases.iter().zip(&requests) {
        let decision = native.check_request(request);
        if decision != component.check_request(request) {
            bail!("{}: case {:?}: the native engine and the component disagree", path.display(), case.name);
        }
        passed += usize::from(scenario::meets(case, &decision));
    }
    let mut native_samples = time_each(&requests, samples, |r| native.check_request(r));
    let mut component_samples = time_each(&requests, samples, |r| component.check_request(r));
    let component_batch_ns = time_batches(&requests, samples, |batch| component.check_batch(batch));
    let report = FileReport {
        file: path.display().to_string(),
        cases: cases.len(),
        passed,
        build_ms: millis(build),
        bundle_bytes: policy.bundle.len(),
        native_load_ms: millis(native_load),
        component_load_ms: millis(component_load),
        native: percentiles(&mut native_samples),
        component: percentiles(&mut component_samples),
        component_batch_ns,
    };
    Ok((report, native_samples, component_samples))
}

/// Times `samples` calls of `decide`, one at a time, cycling through `requests`.
fn time_each(requests: &[Request], samples: usize, mut decide: impl FnMut(&Request) -> Decision) -> Vec<u64> {
    requests
        .iter()
        .cycle()
        .take(samples)
        .map(|request| {
            let started = Instant::now();
            std::hint::black_box(decide(std::hint::black_box(request)));
            u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
        })
        .collect()
}

/// Times `check-batch` on batches of [`BATCH`] requests cycling through
/// `requests`, about `samples` decisions in all; the median per decision.
fn time_batches(requests: &[Request], samples: usize, mut decide: impl FnMut(&[Request]) -> Vec<Decision>) -> u64 {
    let batch: Vec<Request> = requests.iter().cycle().take(BATCH).cloned().collect();
    let mut per_decision: Vec<u64> = (0..samples.div_ceil(BATCH))
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(decide(std::hint::black_box(&batch)));
            u64::try_from(started.elapsed().as_nanos() / BATCH as u128).unwrap_or(u64::MAX)
        })
        .collect();
    percentiles(&mut per_decision).median_ns
}

/// The median and 99th percentile (nearest rank) of `samples`, sorting them.
fn percentiles(samples: &mut [u64]) -> Percentiles {
    samples.sort_unstable();
    let at = |q: usize| samples.get((samples.len() * q / 100).min(samples.len().saturating_sub(1))).copied();
    Percentiles { median_ns: at(50).unwrap_or(0), p99_ns: at(99).unwrap_or(0) }
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// The process's peak resident memory (`VmHWM` in /proc/self/status), in MiB;
/// `None` where the kernel does not report it.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}

/// The figures over every file: percentiles of all samples together, load
/// times summed.
struct Summary {
    native: Percentiles,
    component: Percentiles,
    load_ms: f64,
    native_load_ms: f64,
    compile_ms: f64,
    peak_rss_mib: Option<f64>,
}

impl Summary {
    fn json(&self, files: &[FileReport]) -> serde_json::Value {
        serde_json::json!({
            "native_median_ns": self.native.median_ns,
            "native_p99_ns": self.native.p99_ns,
            "component_median_ns": self.component.median_ns,
            "component_p99_ns": self.component.p99_ns,
            "component_batch_median_ns": median(files.iter().map(|f| f.component_batch_ns)),
            "load_ms": self.load_ms,
            "native_load_ms": self.native_load_ms,
            "compile_ms": self.compile_ms,
            "peak_rss_mib": self.peak_rss_mib,
            "files": files,
        })
    }

    fn print(&self, files: usize) {
        if files > 1 {
            println!("all files");
            print_engine("native", self.native);
            print_engine("component", self.component);
        }
        println!("component compiled in {:.1} ms", self.compile_ms);
        match self.peak_rss_mib {
            Some(mib) => println!("peak memory {mib:.1} MiB (VmHWM)"),
            None => println!("peak memory unknown (no /proc/self/status)"),
        }
    }
}

fn print_file(r: &FileReport) {
    println!("{}: {} cases ({} meet their expectation)", r.file, r.cases, r.passed);
    println!("  world compiled in {:.1} ms ({} bytes of bundle)", r.build_ms, r.bundle_bytes);
    println!("  load       native {:.3} ms, component {:.3} ms", r.native_load_ms, r.component_load_ms);
    print_engine("native", r.native);
    print_engine("component", r.component);
    let per_second = 1e9 / r.component_batch_ns.max(1) as f64;
    println!(
        "  component check-batch: {} ns per decision ({per_second:.0} decisions per second)",
        r.component_batch_ns
    );
}

fn print_engine(name: &str, p: Percentiles) {
    println!("  {name:<10} median {} ns, p99 {} ns per decision", p.median_ns, p.p99_ns);
}

/// The median of some figures (the lower middle one), 0 for none.
fn median(figures: impl Iterator<Item = u64>) -> u64 {
    let mut all: Vec<u64> = figures.collect();
    all.sort_unstable();
    all.get(all.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::percentiles;

    #[test]
    fn percentiles_are_nearest_rank_over_sorted_samples() {
        let mut samples: Vec<u64> = (1..=200).rev().collect();
        let p = percentiles(&mut samples);
        assert_eq!((p.median_ns, p.p99_ns), (101, 199));
        let p = percentiles(&mut [7]);
        assert_eq!((p.median_ns, p.p99_ns), (7, 7));
    }
}
