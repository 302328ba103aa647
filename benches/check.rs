//! The same checks through the WebAssembly component and through the native
//! engine, side by side in one run: the ratio is the cost of the sandbox.
//!
//!     cargo bench -p finegrain-benches
//!
//! Each group holds a `native` and a `component` measurement of one request
//! shape over the example world (`examples/acme.yaml`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use finegrain_benches::{EXAMPLE_AT as AT, Engines};
use finegrain_host::api::*;

fn requests() -> Vec<(&'static str, Request)> {
    vec![
        (
            "permission",
            Request::Permission(PermissionRequest {
                token: TokenRef::Secret("glpat-alice-ci-secret".into()),
                permission: "read_branch".into(),
                namespace: Some("acme/platform/api".into()),
                ref_name: None,
                force: false,
                at: AT,
            }),
        ),
        (
            "http",
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
        (
            // Two root fields through a fragment and a variable.
            "graphql",
            Request::Http(HttpRequest {
                token: Some(TokenRef::Secret("glpat-alice-everywhere".into())),
                method: "POST".into(),
                path: "/api/graphql".into(),
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: Some(
                    r#"{"query": "query($p: ID!) { ...F me: currentUser { username } } fragment F on Query { project(fullPath: $p) { id } }", "variables": {"p": "acme/platform/api"}}"#
                        .into(),
                ),
                owner: None,
                at: AT,
            }),
        ),
        (
            "git_push_protected",
            Request::Git(GitRequest {
                token: TokenRef::Secret("glpat-alice-push".into()),
                project: "acme/platform/api".into(),
                service: GitService::ReceivePack(vec![RefUpdate {
                    old_id: "1".repeat(40),
                    new_id: "2".repeat(40),
                    name: "refs/heads/main".into(),
                    force: false,
                }]),
                at: AT,
            }),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let Engines { policy, native, host, mut component } = Engines::example();

    for (name, request) in requests() {
        assert_eq!(native.check_request(&request), component.check_request(&request), "{name}");
        let mut group = c.benchmark_group(name);
        group.bench_function("native", |b| b.iter(|| black_box(native.check_request(black_box(&request)))));
        group.bench_function("component", |b| b.iter(|| black_box(component.check_request(black_box(&request)))));
        group.finish();
    }

    // One hundred mixed checks: a native loop against one batch call.
    let batch: Vec<Request> = requests().into_iter().map(|(_, r)| r).cycle().take(100).collect();
    let mut group = c.benchmark_group("batch_100");
    group.bench_function("native", |b| b.iter(|| black_box(native.check_batch(black_box(&batch)))));
    group.bench_function("component", |b| b.iter(|| black_box(component.check_batch(black_box(&batch)))));
    group.finish();

    let mut group = c.benchmark_group("load_bundle");
    group.sample_size(20);
    group
        .bench_function("native", |b| b.iter(|| black_box(finegrain_engine::Authorizer::load(&policy.bundle).is_ok())));
    group.bench_function("component", |b| b.iter(|| black_box(host.load(&policy.bundle).is_ok())));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
