//! `finegrain test` and `finegrain validate`: scenario files through the
//! engine component, with a name filter and a JUnit report for CI systems.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use finegrain_host::api::Timestamp;
use finegrain_host::runtime::{Authorizer, EngineHost};
use finegrain_host::{scenario, world_file};

use crate::style::Style;

/// `finegrain test`'s arguments.
#[derive(Args)]
pub struct TestArgs {
    /// Scenario files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Time for cases without `at:` (date, RFC 3339 or Unix seconds); default: now.
    #[arg(long)]
    at: Option<String>,
    /// Run only the cases whose name contains PATTERN (case-sensitive); an error
    /// when no case matches.
    #[arg(long, value_name = "PATTERN")]
    filter: Option<String>,
    /// Also write the results as a JUnit XML report here (one test suite per file).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Also write, per file, `STEM.bundle` and `STEM.cases.json` (each case's
    /// engine request, expectation and decision) into this directory, for
    /// other hosts to replay.
    #[arg(long, value_name = "DIR")]
    export: Option<PathBuf>,
}

/// One file's results, for the summary and the JUnit report.
struct Suite {
    file: String,
    outcomes: Vec<scenario::Outcome>,
}

/// Runs `finegrain test`.
pub fn test(host: &EngineHost, args: &TestArgs) -> Result<ExitCode> {
    let default_at = crate::at_or_now(&args.at)?;
    let style = Style::for_stdout();
    let mut suites = Vec::new();
    for path in &args.files {
        let policy = finegrain_host::load_policy(path).map_err(|e| anyhow!("{e}"))?;
        let mut authorizer = host.load(&policy.bundle).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        let mut cases = policy.file.map(|f| f.cases).unwrap_or_default();
        if cases.is_empty() {
            bail!("{}: no cases", path.display());
        }
        if let Some(pattern) = &args.filter {
            cases.retain(|c| c.name.contains(pattern.as_str()));
        }
        let outcomes = scenario::run(&mut authorizer, &cases, default_at);
        if let Some(dir) = &args.export {
            export_cases(dir, path, &mut authorizer, &policy.bundle, &cases, &outcomes, default_at)?;
        }
        suites.push(Suite { file: path.display().to_string(), outcomes });
    }
    let total: usize = suites.iter().map(|s| s.outcomes.len()).sum();
    if let (Some(pattern), 0) = (&args.filter, total) {
        bail!("--filter {pattern:?}: no case name contains it");
    }
    let failed = print_outcomes(&suites, style);
    if let Some(file) = &args.junit {
        crate::write_atomically(file, junit(&suites).as_bytes())?;
    }
    println!("{} passed, {failed} failed", total - failed);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Prints one line per case (and the reasons of a failure); returns the failures.
fn print_outcomes(suites: &[Suite], style: Style) -> usize {
    let mut failed = 0;
    for outcome in suites.iter().flat_map(|s| &s.outcomes) {
        if outcome.passed {
            println!("{}    {}", style.good("ok"), outcome.name);
            continue;
        }
        failed += 1;
        println!(
            "{}  {}: expected {}, got {}",
            style.bad("FAIL"),
            outcome.name,
            outcome.expected,
            scenario::summary(outcome.shown())
        );
        for r in &outcome.shown().reasons {
            println!("        {}: {}", r.code, r.text());
        }
    }
    failed
}

/// The JUnit XML report: `<testsuites>` with one `<testsuite>` per file and one
/// `<testcase>` per case; a failing case carries `<failure>` with the reasons.
fn junit(suites: &[Suite]) -> String {
    let count = |s: &Suite| (s.outcomes.len(), s.outcomes.iter().filter(|o| !o.passed).count());
    let (tests, failures) = suites.iter().map(count).fold((0, 0), |(t, f), (a, b)| (t + a, f + b));
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(xml, "<testsuites name=\"finegrain\" tests=\"{tests}\" failures=\"{failures}\">");
    for suite in suites {
        let (tests, failures) = count(suite);
        let file = xml_escape(&suite.file);
        let _ = writeln!(xml, "  <testsuite name=\"{file}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">");
        for o in &suite.outcomes {
            let name = xml_escape(&o.name);
            if o.passed {
                let _ = writeln!(xml, "    <testcase classname=\"{file}\" name=\"{name}\"/>");
                continue;
            }
            let message = format!("expected {}, got {}", o.expected, scenario::summary(o.shown()));
            let details: Vec<String> = o.shown().reasons.iter().map(|r| format!("{}: {}", r.code, r.text())).collect();
            let _ = writeln!(xml, "    <testcase classname=\"{file}\" name=\"{name}\">");
            let _ = writeln!(
                xml,
                "      <failure message=\"{}\" type=\"decision\">{}</failure>",
                xml_escape(&message),
                xml_escape(&details.join("\n"))
            );
            let _ = writeln!(xml, "    </testcase>");
        }
        let _ = writeln!(xml, "  </testsuite>");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// Escapes text for an XML attribute or element; drops the control characters
/// XML 1.0 cannot carry.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// Writes a file's bundle and its cases as JSON for other hosts: each case
/// with the Rust host's decision (`check`) and its described decision.
fn export_cases(
    dir: &Path,
    file: &Path,
    authorizer: &mut Authorizer,
    bundle: &[u8],
    cases: &[world_file::Case],
    outcomes: &[scenario::Outcome],
    default_at: Timestamp,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("cases");
    crate::write_atomically(&dir.join(format!("{stem}.bundle")), bundle)?;
    let cases: Vec<serde_json::Value> = cases
        .iter()
        .zip(outcomes)
        .map(|(case, outcome)| {
            let request = scenario::case_request(case, default_at);
            let described = authorizer.describe(&request);
            serde_json::json!({
                "name": case.name,
                "request": request,
                "expect": if case.expect_allow { "allow" } else { "deny" },
                "reasons": case.reasons,
                "decision": outcome.decision,
                "described": described,
            })
        })
        .collect();
    let json = serde_json::to_string_pretty(&cases)?;
    crate::write_atomically(&dir.join(format!("{stem}.cases.json")), json.as_bytes())
}

/// Runs `finegrain validate`: each file is read, checked and loaded into the
/// engine component as `check` and `test` would; the first problem is one line
/// naming the file, the place and the problem (exit status 2).
pub fn validate(host: &EngineHost, files: &[PathBuf]) -> Result<ExitCode> {
    for path in files {
        let policy = finegrain_host::load_policy(path).map_err(|e| anyhow!("{e}"))?;
        let authorizer = host.load(&policy.bundle).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        drop(authorizer);
        match &policy.file {
            Some(file) => {
                let w = &file.world;
                println!(
                    "{}: valid ({} users, {} groups, {} projects, {} custom roles, {} members, {} tokens, {} cases)",
                    path.display(),
                    w.users.len(),
                    w.groups.len(),
                    w.projects.len(),
                    w.custom_roles.len(),
                    w.members.len(),
                    w.tokens.len(),
                    file.cases.len()
                );
            }
            None => println!("{}: valid bundle ({} bytes)", path.display(), policy.bundle.len()),
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::xml_escape;

    #[test]
    fn xml_escape_keeps_text_and_quotes_markup() {
        assert_eq!(xml_escape("a <b> & \"c\" 'd'"), "a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;");
        assert_eq!(xml_escape("line\nnext\u{7}"), "line&#10;next");
    }
}
