//! Every REST operation the catalog maps is reachable: for each endpoint a
//! concrete request is generated from its template and sent through
//! `finegrain check --request`, and the decision must name a template of that
//! very operation.
//!
//! The caller is an administrator with a legacy `api` token, so every
//! token-authenticated endpoint is allowed and its reason quotes the matched
//! template; anonymous endpoints are allowed as such, and service endpoints are
//! refused with `endpoint_not_for_tokens` — both quoting the template too.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;

use finegrain_catalog::{Auth, Boundary, Catalog, Endpoint};

const AT: &str = "2026-11-21T12:00:00Z";

const WORLD: &str = "\
users:
  - { username: root, admin: true }
groups:
  - { path: g, id: 5, visibility: private }
projects:
  - { path: g/p, id: 7, visibility: private }
tokens:
  - { name: root-api, user: root, secret: glpat-routes-root-api, type: legacy, scopes: [api] }
";

/// A concrete path for a template. The namespace parameter alternates between
/// numeric ids and URL-encoded full paths; other parameters get values no
/// literal sibling uses; catch-alls get two segments.
fn concrete_path(endpoint: &Endpoint, index: usize) -> String {
    let by_id = index.is_multiple_of(2);
    endpoint
        .path
        .split('/')
        .enumerate()
        .map(|(position, segment)| {
            if let Some(name) = segment.strip_prefix('*') {
                return format!("{name}-a{position}/{name}-b{position}");
            }
            let Some((prefix, rest)) = segment.split_once(':') else {
                return segment.to_owned();
            };
            let (name, suffix) =
                rest.split_once('.').map(|(n, s)| (n, format!(".{s}"))).unwrap_or((rest, String::new()));
            let value = if Some(name) == endpoint.boundary_param.as_deref() {
                match (endpoint.boundary, by_id) {
                    (Boundary::Project, true) => "7".to_owned(),
                    (Boundary::Project, false) => "g%2Fp".to_owned(),
                    (_, true) => "5".to_owned(),
                    (_, false) => "g".to_owned(),
                }
            } else {
                format!("{name}-v{position}")
            };
            format!("{prefix}{value}{suffix}")
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_mapped_operation_routes_to_its_own_template() {
    let catalog = Catalog::builtin().expect("builtin catalog");
    let dir = std::env::temp_dir().join(format!("finegrain-routes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let world: PathBuf = dir.join("world.yaml");
    std::fs::write(&world, WORLD).unwrap();

    let cases: Vec<(&Endpoint, String)> = catalog
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| (e, format!("{} /api/v4{}", e.method, concrete_path(e, i))))
        .collect();
    let operations: HashSet<(&str, &str)> =
        catalog.endpoints.iter().map(|e| (e.method.as_str(), e.reference.as_str())).collect();
    assert!(operations.len() > 1800, "only {} operations mapped", operations.len());

    // Optional groups make several templates of one operation, and they may
    // overlap (`*version/:file` and `*version/*path/:file`): what must match is
    // the operation, i.e. the method and the reference path.
    let operation_of: std::collections::HashMap<(&str, &str), &str> =
        catalog.endpoints.iter().map(|e| ((e.method.as_str(), e.path.as_str()), e.reference.as_str())).collect();
    let mut failures = Vec::new();
    for chunk in cases.chunks(500) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_finegrain"));
        command.args(["check", "--world", &world.display().to_string(), "--token", "glpat-routes-root-api"]);
        command.args(["--at", AT, "--json"]);
        for (_, request) in chunk {
            command.args(["--request", request]);
        }
        let output = command.output().expect("run finegrain");
        assert!(matches!(output.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&output.stderr));
        let decisions: Vec<serde_json::Value> =
            serde_json::from_slice(&output.stdout).expect("a JSON array of decisions");
        assert_eq!(decisions.len(), chunk.len());
        for ((endpoint, request), decision) in chunk.iter().zip(&decisions) {
            let reason = &decision["reasons"][0];
            let (code, detail) = (reason["code"].as_str().unwrap_or(""), reason["detail"].as_str().unwrap_or(""));
            let expected_code = match endpoint.auth {
                Auth::Token | Auth::Anonymous => "allowed",
                Auth::Service => "endpoint_not_for_tokens",
            };
            let matched = detail
                .split_once(' ')
                .and_then(|(method, rest)| Some((method, rest.split(' ').next()?.strip_prefix("/api/v4")?)))
                .and_then(|key| operation_of.get(&key));
            if code != expected_code || matched != Some(&endpoint.reference.as_str()) {
                failures.push(format!(
                    "{request}: expected {expected_code} for {} {}, got {code}: {detail}",
                    endpoint.method, endpoint.reference
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} requests misrouted:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
