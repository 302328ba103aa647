//! `finegrain bench`: the shape of its report, text and JSON (never its timings).

use std::path::Path;
use std::process::{Command, Output};

fn finegrain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_finegrain")).args(args).env("NO_COLOR", "1").output().expect("run finegrain")
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/acme.yaml").display().to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn bench_reports_per_engine_percentiles_load_and_memory_as_json() {
    let out = finegrain(&["bench", &example(), "--samples", "300", "--at", "2026-11-21T12:00:00Z", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in ["native_median_ns", "native_p99_ns", "component_median_ns", "component_p99_ns"] {
        let value = report[key].as_u64().unwrap_or_else(|| panic!("{key}: {report}"));
        assert!(value > 0, "{key} is zero");
    }
    for key in ["load_ms", "native_load_ms", "compile_ms", "peak_rss_mib"] {
        assert!(report[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {report}");
    }
    let median = report["native_median_ns"].as_u64().unwrap_or(0);
    assert!(report["native_p99_ns"].as_u64().is_some_and(|p99| p99 >= median));
    let files = report["files"].as_array().expect("files");
    assert_eq!(files.len(), 1);
    let file = &files[0];
    assert_eq!(file["file"], example());
    let cases = file["cases"].as_u64().expect("cases");
    assert!(cases > 10, "{file}");
    // The example's cases are written for this time: every one meets its expectation.
    assert_eq!(file["passed"].as_u64(), Some(cases));
    for key in ["median_ns", "p99_ns"] {
        assert!(file["native"][key].as_u64().is_some() && file["component"][key].as_u64().is_some(), "{file}");
    }
}

#[test]
fn bench_prints_one_block_per_file_and_refuses_a_world_without_cases() {
    let out = finegrain(&["bench", &example(), "--samples", "50", "--at", "2026-11-21T12:00:00Z"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with(&format!("{}: ", example())) && lines[0].ends_with("meet their expectation)"));
    assert!(lines.iter().any(|l| l.starts_with("  load       native ") && l.contains(" ms, component ")));
    for engine in ["native", "component"] {
        let prefix = format!("  {engine:<10} median ");
        assert!(lines.iter().any(|l| l.starts_with(&prefix) && l.ends_with(" ns per decision")), "{stdout}");
    }
    assert!(lines.iter().any(|l| l.starts_with("peak memory ") && l.ends_with(" MiB (VmHWM)")), "{stdout}");

    let dir = std::env::temp_dir().join(format!("finegrain-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let world = dir.join("world.yaml");
    std::fs::write(&world, "users:\n  - { username: alice }\n").unwrap();
    let out = finegrain(&["bench", world.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr).trim_end(), format!("finegrain: {}: no cases to run", world.display()));
    let out = finegrain(&["bench", &example(), "--samples", "0"]);
    assert_eq!(text(&out.stderr).trim_end(), "finegrain: --samples 0: give at least one");
    let _ = std::fs::remove_dir_all(&dir);
}
