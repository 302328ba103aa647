//! The `finegrain` command line as a user meets it: exit statuses, output, and
//! one clear line for every kind of bad input, with nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const AT: &str = "2026-11-21T12:00:00Z";

fn finegrain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_finegrain")).args(args).output().expect("run finegrain")
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/acme.yaml").display().to_string()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("finegrain-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_exits_zero_on_allow_and_one_on_deny() {
    let allow = finegrain(&[
        "check",
        "--world",
        &example(),
        "--token-name",
        "alice-ci",
        "--request",
        "GET /api/v4/projects/100/repository/branches",
        "--at",
        AT,
    ]);
    assert_eq!(allow.status.code(), Some(0), "{}", stderr(&allow));
    assert!(stdout(&allow).starts_with("ALLOW\n"), "{}", stdout(&allow));

    let deny = finegrain(&[
        "check",
        "--world",
        &example(),
        "--token",
        "glpat-alice-ci-secret",
        "--permission",
        "push_code",
        "--on",
        "acme/platform/api",
        "--at",
        AT,
    ]);
    assert_eq!(deny.status.code(), Some(1));
    assert!(stdout(&deny).contains("token_lacks_permission"), "{}", stdout(&deny));
}

#[test]
fn check_json_carries_the_whole_decision() {
    let out = finegrain(&[
        "check",
        "--world",
        &example(),
        "--token-name",
        "dave-api",
        "--permission",
        "push_code",
        "--on",
        "acme/platform/api",
        "--ref",
        "refs/heads/main",
        "--force",
        "--json",
        "--at",
        AT,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let decision: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(decision["effect"], "deny");
    assert_eq!(decision["reasons"][0]["code"], "force_push_forbidden");
    assert_eq!(decision["required_permissions"], serde_json::json!(["push_code"]));
    assert_eq!(decision["boundary"], "project");
    assert_eq!(decision["namespace"], "acme/platform/api");
}

#[test]
fn explain_lists_every_step() {
    let out = finegrain(&[
        "explain",
        "--world",
        &example(),
        "--token-name",
        "bob-admin",
        "--request",
        "POST /api/v4/projects/100/protected_branches",
        "--at",
        AT,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for step in [
        "token: \"bob-admin\" of user \"bob\"",
        "requires create_protected_branch",
        "expansion: assignable permissions that grant them: protect_branch",
        "abilities [admin_protected_branch",
        "ALLOW",
    ] {
        assert!(text.contains(step), "missing {step:?} in:\n{text}");
    }
}

#[test]
fn test_runs_the_example_and_counts() {
    let out = finegrain(&["test", &example(), "--at", AT]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let last = stdout(&out).lines().last().unwrap_or_default().to_owned();
    assert!(last.ends_with("passed, 0 failed"), "{last}");
}

#[test]
fn a_failing_case_is_shown_with_its_decision() {
    let dir = scratch("failing");
    let text = std::fs::read_to_string(example()).unwrap();
    // Flip the first expectation in the file.
    let flipped = text.replacen("expect: allow", "expect: deny", 1);
    let file = dir.join("flipped.yaml");
    std::fs::write(&file, flipped).unwrap();
    let out = finegrain(&["test", file.to_str().unwrap(), "--at", AT]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "FAIL  CI token lists branches of a project in its selected group: expected deny, got allow [allowed]"
        ),
        "{text}"
    );
    assert!(text.lines().last().unwrap().ends_with(" passed, 1 failed"), "{text}");
}

#[test]
fn bundles_round_trip_and_decide_like_the_yaml() {
    let dir = scratch("bundle");
    let bundle = dir.join("acme.bundle");
    let out = finegrain(&["bundle", "build", &example(), "-o", bundle.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("digest sha256:"), "{}", stdout(&out));
    let args =
        ["--token", "glpat-carol-mr", "--request", "GET /api/v4/projects/100/merge_requests", "--json", "--at", AT];
    let from_yaml = finegrain(&[&["check", "--world", &example()][..], &args].concat());
    let from_bundle = finegrain(&[&["check", "--world", bundle.to_str().unwrap()][..], &args].concat());
    assert_eq!(from_yaml.status.code(), Some(0));
    assert_eq!(stdout(&from_yaml), stdout(&from_bundle));
}

/// Runs `bundle build` on a bad world: exit 2, exactly one line on stderr that
/// contains `expected`, nothing written.
fn rejects_world(name: &str, world: &str, expected: &str) {
    let dir = scratch(name);
    let file = dir.join("world.yaml");
    std::fs::write(&file, world).unwrap();
    let output = dir.join("world.bundle");
    let out = finegrain(&["bundle", "build", file.to_str().unwrap(), "-o", output.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{name}: {err}");
    assert_eq!(err.lines().count(), 1, "{name}: not one line: {err}");
    assert!(err.contains(&format!("{}", file.display())), "{name}: file not named: {err}");
    assert!(err.contains(expected), "{name}: expected {expected:?} in {err}");
    assert!(!output.exists(), "{name}: a bundle was written");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "{name}: a stray file was left");
}

const BASE: &str = "users:\n  - { username: alice }\ngroups:\n  - { path: acme }\nprojects:\n  - { path: acme/api }\n";

#[test]
fn malformed_yaml() {
    rejects_world("yaml", "users:\n  - { username: alice\n", "world.yaml:");
    rejects_world("type", "users: 3\n", "invalid type");
    rejects_world(
        "field",
        "users:\n  - { username: alice, role: admin }\n",
        "world.yaml:2: users[0]: unknown field `role`",
    );
}

#[test]
fn unknown_role_ability_and_permission() {
    rejects_world(
        "role",
        &format!("{BASE}members:\n  - {{ user: alice, in: acme, role: boss }}\n"),
        "world.yaml:8: members[0].role: unknown role \"boss\"",
    );
    rejects_world(
        "ability",
        &format!("{BASE}custom_roles:\n  - {{ name: r, base: guest, abilities: [fly] }}\n"),
        "world.yaml:8: custom_roles[0].abilities: unknown ability \"fly\"",
    );
    rejects_world(
        "permission",
        &format!(
            "{BASE}tokens:\n  - {{ name: t, user: alice, secret: s, grants: [{{ access: all_memberships, permissions: [read_everything] }}] }}\n"
        ),
        "world.yaml:8: tokens[0].grants[0].permissions: unknown assignable permission \"read_everything\"",
    );
    rejects_world(
        "scope",
        &format!("{BASE}tokens:\n  - {{ name: t, user: alice, secret: s, type: legacy, scopes: [root] }}\n"),
        "tokens[0].scopes: unknown scope \"root\"",
    );
    rejects_world(
        "boundary",
        &format!(
            "{BASE}tokens:\n  - {{ name: t, user: alice, secret: s, grants: [{{ access: user, permissions: [push_code] }}] }}\n"
        ),
        "tokens[0].grants[0].permissions: \"push_code\" does not apply to access user (it applies at project)",
    );
}

#[test]
fn a_violated_ability_requirement() {
    rejects_world(
        "requirement",
        &format!(
            "{BASE}custom_roles:\n  - {{ name: settings, base: guest, abilities: [admin_merge_request_settings] }}\n"
        ),
        "custom_roles[0].abilities: \"manage_merge_request_settings\" requires \"read_code\", which role \"settings\" neither lists nor holds through base role \"guest\"",
    );
}

#[test]
fn duplicate_paths_and_names() {
    rejects_world(
        "dup-project",
        &format!("{BASE}  - {{ path: acme/api }}\n"),
        "projects[1].path: duplicate path \"acme/api\" (already a project)",
    );
    rejects_world(
        "dup-user-group",
        "users:\n  - { username: acme }\ngroups:\n  - { path: acme }\n",
        "groups[0].path: duplicate path \"acme\" (already a user's personal namespace)",
    );
    rejects_world(
        "orphan",
        "projects:\n  - { path: nowhere/api }\n",
        "projects[0].path: parent \"nowhere\" of \"nowhere/api\" is not a group or user",
    );
    rejects_world(
        "dup-token",
        &format!(
            "{BASE}tokens:\n  - {{ name: t, user: alice, secret: a, scopes: [api] }}\n  - {{ name: t, user: alice, secret: b, scopes: [api] }}\n"
        ),
        "world.yaml:9: tokens[1].name: duplicate token name \"t\"",
    );
}

#[test]
fn corrupt_and_truncated_bundles() {
    let dir = scratch("corrupt");
    let bundle = dir.join("good.bundle");
    assert_eq!(finegrain(&["bundle", "build", &example(), "-o", bundle.to_str().unwrap()]).status.code(), Some(0));
    let bytes = std::fs::read(&bundle).unwrap();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("truncated", bytes[..bytes.len() / 2].to_vec(), "content digest does not match"),
        ("header", bytes[..20].to_vec(), "bundle is truncated: 20 bytes"),
        (
            "flipped",
            {
                let mut b = bytes.clone();
                b[100] ^= 1;
                b
            },
            "content digest does not match",
        ),
        (
            "version",
            {
                let mut b = bytes.clone();
                b[8] = 99;
                b
            },
            "bundle format version 99 is not supported",
        ),
    ];
    for (name, content, expected) in cases {
        let file = dir.join(format!("{name}.bundle"));
        std::fs::write(&file, content).unwrap();
        let out = finegrain(&[
            "check",
            "--world",
            file.to_str().unwrap(),
            "--token-name",
            "alice-ci",
            "--permission",
            "read_branch",
            "--on",
            "acme",
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(file.to_str().unwrap()) && err.contains(expected), "{name}: {err}");
    }
}

#[test]
fn bad_arguments_exit_two() {
    let out = finegrain(&["check", "--world", &example(), "--token-name", "alice-ci", "--request", "GET", "--at", AT]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--request: write `METHOD PATH`"), "{}", stderr(&out));
    let out = finegrain(&[
        "check",
        "--world",
        &example(),
        "--token-name",
        "alice-ci",
        "--permission",
        "read_branch",
        "--at",
        "tomorrow",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--at: \"tomorrow\" is not a date"), "{}", stderr(&out));
    let out =
        finegrain(&["check", "--world", "/no/such/world.yaml", "--token-name", "x", "--permission", "read_branch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/no/such/world.yaml: cannot read"), "{}", stderr(&out));
}

#[test]
fn inspect_shows_token_and_user() {
    let out = finegrain(&["inspect", "--world", &example(), "--token-name", "carol-mr", "--at", AT]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("token \"carol-mr\" of carol (fine_grained, active)"), "{text}");
    assert!(text.contains("project acme/platform/api: ") && text.contains("read_merge_request"), "{text}");
    assert!(!text.contains("create_merge_request"), "{text}");
}

#[test]
fn the_secret_never_appears_in_output() {
    let out = finegrain(&[
        "explain",
        "--world",
        &example(),
        "--request",
        "GET /api/v4/user?private_token=glpat-alice-profile",
        "--at",
        AT,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).contains("glpat-alice-profile"), "{}", stdout(&out));
}

#[test]
fn the_component_imports_no_functions() {
    let out = finegrain(&["component"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("imports (2):"), "{text}");
    assert_eq!(text.matches(": types only").count(), 2, "{text}");
    assert!(!text.contains("wasi"), "{text}");
    assert!(text.contains("[method]authorizer.check-batch"), "{text}");
}

#[test]
fn a_closed_pipe_stops_the_output_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    // Thirty copies of the example print more than a pipe buffer holds, so the
    // writer is still writing when the reader goes away.
    let example = example();
    let mut args = vec!["test", "--at", AT];
    args.extend(std::iter::repeat_n(example.as_str(), 30));
    let mut child = Command::new(env!("CARGO_BIN_EXE_finegrain"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    // The reader is dropped here, as `| head -n 1` would.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("ok "), "{first}");
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}
