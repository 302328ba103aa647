//! The habits CI systems and people expect of a policy tool: `validate`,
//! `test --filter` and `--junit`, and colour only on a terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const AT: &str = "2026-11-21T12:00:00Z";

fn finegrain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_finegrain")).args(args).env_remove("NO_COLOR").output().expect("run finegrain")
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/acme.yaml").display().to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("finegrain-habits-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn validate_accepts_a_good_world_and_names_the_place_of_a_bad_one() {
    let out = finegrain(&["validate", &example()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert!(line.contains("acme.yaml: valid (") && line.contains(" tokens, ") && line.contains(" cases)"), "{line}");

    let dir = scratch("validate");
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "users:\n  - { username: ann }\nmembers:\n  - { user: ann, in: nowhere, role: developer }\n")
        .unwrap();
    let out = finegrain(&["validate", &example(), bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("bad.yaml") && err.contains("nowhere"), "{err}");

    let typo = dir.join("typo.yaml");
    std::fs::write(&typo, "users:\n  - { username: ann, admn: true }\n").unwrap();
    let err = text(&finegrain(&["validate", typo.to_str().unwrap()]).stderr);
    assert!(err.contains("typo.yaml:2") && err.contains("admn"), "{err}");
}

#[test]
fn test_filter_runs_only_matching_cases_and_refuses_a_pattern_that_matches_none() {
    let all = finegrain(&["test", &example(), "--at", AT]);
    let all_cases = text(&all.stdout).lines().filter(|l| l.starts_with("ok ")).count();
    let out = finegrain(&["test", &example(), "--at", AT, "--filter", "force push"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let ran: Vec<&str> = stdout.lines().filter(|l| l.starts_with("ok ")).collect();
    assert!(!ran.is_empty() && ran.len() < all_cases, "{stdout}");
    assert!(ran.iter().all(|l| l.contains("force push")), "{stdout}");
    assert!(stdout.ends_with(&format!("{} passed, 0 failed\n", ran.len())), "{stdout}");

    let none = finegrain(&["test", &example(), "--at", AT, "--filter", "no case is called this"]);
    assert_eq!(none.status.code(), Some(2));
    assert_eq!(text(&none.stderr).trim(), "finegrain: --filter \"no case is called this\": no case name contains it");
}

#[test]
fn junit_report_lists_every_case_and_carries_the_reasons_of_a_failure() {
    let dir = scratch("junit");
    let scenario = dir.join("mixed.yaml");
    std::fs::write(
        &scenario,
        "users: [{ username: ann }]\ngroups: [{ path: corp }]\nprojects: [{ path: corp/app }]\n\
         members: [{ user: ann, in: corp, role: reporter }]\n\
         tokens:\n  - { name: t, user: ann, secret: glpat-ann, scopes: [read_api] }\n\
         cases:\n  - { name: reads <branches> & more, token: t, request: GET /api/v4/projects/corp%2Fapp/repository/branches, expect: allow }\n\
         \x20 - { name: wrongly expects a push, token: t, request: git-receive-pack corp/app refs/heads/x, expect: allow }\n",
    )
    .unwrap();
    let report = dir.join("report.xml");
    let out = finegrain(&["test", scenario.to_str().unwrap(), "--at", AT, "--junit", report.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"finegrain\" tests=\"2\" failures=\"1\">"
        ),
        "{xml}"
    );
    assert!(xml.contains("tests=\"2\" failures=\"1\" errors=\"0\">"), "{xml}");
    assert!(xml.contains("name=\"reads &lt;branches&gt; &amp; more\"/>"), "{xml}");
    let failure = &xml[xml.find("name=\"wrongly expects a push\"").expect("failing case")..];
    assert!(failure.contains("<failure message=\"expected allow, got deny ["), "{xml}");
    assert!(failure.contains("token_lacks_permission"), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 2);
}

#[test]
fn colour_only_on_a_terminal() {
    // Piped (as here): plain text.
    let piped = finegrain(&["test", &example(), "--at", AT, "--filter", "force push"]);
    assert!(!piped.stdout.contains(&0x1b), "{}", text(&piped.stdout));
    // On a pseudo-terminal (util-linux `script`): coloured, unless NO_COLOR.
    let bin = env!("CARGO_BIN_EXE_finegrain");
    let command = format!("{bin} test {} --at {AT} --filter 'force push'", example());
    let on_tty = |no_color: Option<&str>| {
        let mut c = Command::new("script");
        c.args(["-qec", &command, "/dev/null"]).env_remove("NO_COLOR");
        if let Some(value) = no_color {
            c.env("NO_COLOR", value);
        }
        text(&c.output().expect("run script").stdout)
    };
    let coloured = on_tty(None);
    assert!(coloured.contains("\x1b[32mok\x1b[0m"), "{coloured:?}");
    let plain = on_tty(Some("1"));
    assert!(plain.contains("ok ") && !plain.contains('\x1b'), "{plain:?}");
}

#[test]
fn the_world_file_documentation_is_a_scenario_that_passes() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/world-files.md")).unwrap();
    let blocks: Vec<&str> =
        doc.split("```yaml\n").skip(1).map(|rest| &rest[..rest.find("```").expect("closed block")]).collect();
    assert_eq!(blocks.len(), 2, "docs/world-files.md: a world block and a cases block");
    let file = scratch("docs-example").join("docs.yaml");
    std::fs::write(&file, blocks.concat()).unwrap();
    let out = finegrain(&["test", file.to_str().unwrap(), "--at", AT]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).ends_with("4 passed, 0 failed\n"), "{}", text(&out.stdout));
}
