//! Instructions per decision, natively and through the component, for
//! `scripts/callgrind-check` (which runs this under callgrind).
//!
//!     callgrind_check native|decide|component SHAPE ITERATIONS
//!
//! `native` is the engine's `check_request` (a decision with names, no
//! details), `decide` its hot path (codes and ids, no text), `component` the
//! Rust host's `check_request` through the WebAssembly component. The world is the example (`examples/acme.yaml`); SHAPE is one of the
//! requests below. Only [`measured`] is instrumented (callgrind's
//! `--toggle-collect`), so loading and compiling stay out of the count: the
//! figure per decision is the collected instructions divided by ITERATIONS.

use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;

use finegrain_host::api::*;

const AT: i64 = 1_795_262_400; // 2026-11-21T12:00:00Z

/// The request shapes measured: a name, and the request.
fn shapes() -> Vec<(&'static str, Request)> {
    let permission = |token: &str, permission: &str| {
        Request::Permission(PermissionRequest {
            token: TokenRef::Secret(token.into()),
            permission: permission.into(),
            namespace: Some("acme/platform/api".into()),
            ref_name: None,
            force: false,
            at: AT,
        })
    };
    vec![
        ("permission_allow", permission("glpat-alice-ci-secret", "read_branch")),
        ("permission_deny", permission("glpat-alice-ci-secret", "push_code")),
        (
            "http_allow",
            Request::Http(HttpRequest {
                token: None,
                method: "GET".into(),
                path: "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches?per_page=20".into(),
                headers: vec![("PRIVATE-TOKEN".into(), "glpat-alice-ci-secret".into())],
                body: None,
                owner: None,
                at: AT,
            }),
        ),
        ("graphql_argument_fanout", graphql(argument_fanout())),
    ]
}

/// A GraphQL POST with `body`, from a token that may read every project.
fn graphql(body: String) -> Request {
    Request::Http(HttpRequest {
        token: Some(TokenRef::Secret("glpat-alice-everywhere".into())),
        method: "POST".into(),
        path: "/api/graphql".into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some(body),
        owner: None,
        at: AT,
    })
}

/// The costliest GraphQL body of `benches/graphql.rs`: 1000 aliased root
/// fields, each passing a 999-key variable.
fn argument_fanout() -> String {
    let fields: String = (0..1000).map(|i| format!(" f{i}:project(x:$v){{id}}")).collect();
    let keys: Vec<String> = (0..999).map(|i| format!("\"{i:x}\":0")).collect();
    let query = serde_json::to_string(&format!("query($v: Input) {{{fields} }}")).unwrap_or_default();
    format!("{{\"query\":{query},\"variables\":{{\"v\":{{{}}}}}}}", keys.join(","))
}

/// The instrumented loop: `iterations` decisions of one request.
#[inline(never)]
fn measured(iterations: u64, mut decide: impl FnMut() -> Effect) -> u64 {
    let mut allowed = 0;
    for _ in 0..iterations {
        if black_box(decide()) == Effect::Allow {
            allowed += 1;
        }
    }
    allowed
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, shape, iterations] = args.as_slice() else {
        eprintln!("usage: callgrind_check native|decide|component SHAPE ITERATIONS");
        return ExitCode::from(2);
    };
    let Some((_, request)) = shapes().into_iter().find(|(name, _)| name == shape) else {
        let names: Vec<&str> = shapes().iter().map(|(n, _)| *n).collect();
        eprintln!("unknown shape {shape:?}; one of {}", names.join(", "));
        return ExitCode::from(2);
    };
    let Ok(iterations) = iterations.parse::<u64>() else {
        eprintln!("ITERATIONS must be a number, not {iterations:?}");
        return ExitCode::from(2);
    };
    let world = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/acme.yaml");
    let policy = match finegrain_host::load_policy(&world) {
        Ok(policy) => policy,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let allowed = match mode.as_str() {
        "native" | "decide" => {
            let Ok(engine) = finegrain_engine::Authorizer::load(&policy.bundle) else {
                eprintln!("the native engine cannot load the example bundle");
                return ExitCode::from(2);
            };
            engine.check_request(&request); // warm-up, outside the count
            if mode == "decide" {
                measured(iterations, || engine.decide(black_box(&request)).effect)
            } else {
                measured(iterations, || engine.check_request(black_box(&request)).effect)
            }
        }
        "component" => {
            let loaded = finegrain_host::runtime::EngineHost::new().and_then(|host| host.load(&policy.bundle));
            let Ok(mut component) = loaded else {
                eprintln!("the component cannot load the example bundle");
                return ExitCode::from(2);
            };
            component.check_request(&request);
            measured(iterations, || component.check_request(black_box(&request)).effect)
        }
        other => {
            eprintln!("unknown mode {other:?}; native, decide or component");
            return ExitCode::from(2);
        }
    };
    println!("{mode} {shape}: {allowed} of {iterations} allowed");
    ExitCode::SUCCESS
}
