//! The worst GraphQL requests at the body limit, through the native engine and
//! through the component: each must be decided in milliseconds, whatever it
//! asks for, because every limit is checked before the work it bounds.
//!
//!     cargo bench -p finegrain-benches --bench graphql
//!
//! Shapes (over the example world, `examples/acme.yaml`):
//! - `variable_fanout`: 1000 root selections, each passing a 26,000-key
//!   variable (≈ 255 KB; refused: the variables hold too many values);
//! - `argument_fanout`: the same with a 999-value variable, under the variables
//!   limit (refused: the resolved arguments exceed their budget);
//! - `batch_500`: a 500-entry batch (refused: too many entries);
//! - `fragment_fanout`: fragments spreading each other ten times over four levels
//!   below a root field (refused: too many selections);
//! - `largest_allowed`: 100 aliased root fields, each reading merge requests and
//!   their authors (allowed: 100 root and nested decisions).

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use finegrain_benches::{EXAMPLE_AT as AT, Engines};
use finegrain_host::api::*;

const TOKEN: &str = "glpat-alice-everywhere";

fn post(body: String) -> Request {
    Request::Http(HttpRequest {
        token: Some(TokenRef::Secret(TOKEN.into())),
        method: "POST".into(),
        path: "/api/graphql".into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some(body),
        owner: None,
        at: AT,
    })
}

/// `n` root selections of `project`, each passing `$v`, with `$v` holding `keys` keys.
fn fanout(n: usize, keys: usize) -> String {
    let mut query = String::from("query($v: Input) {");
    for i in 0..n {
        let _ = write!(query, " f{i}:project(x:$v){{id}}");
    }
    query.push_str(" }");
    let variable: serde_json::Map<String, serde_json::Value> =
        (0..keys).map(|i| (format!("{i:x}"), serde_json::Value::from(0))).collect();
    serde_json::json!({ "query": query, "variables": { "v": variable } }).to_string()
}

fn requests() -> Vec<(&'static str, String, Effect)> {
    let entry = serde_json::json!({"query": "{ currentUser { username } }"});
    let batch = serde_json::Value::Array(vec![entry; 500]).to_string();
    let mut fragments = String::from(r#"{ project(fullPath: "acme/platform/api") { ...F0 } }"#);
    for level in 0..4 {
        let spreads = format!("...F{} ", level + 1).repeat(10);
        let _ = write!(fragments, " fragment F{level} on Project {{ {spreads} }}");
    }
    fragments.push_str(" fragment F4 on Project { mergeRequests { nodes { title } } }");
    let mut largest = String::from("{");
    for i in 0..100 {
        let _ = write!(
            largest,
            r#" p{i}: project(fullPath: "acme/platform/api") {{ mergeRequests {{ nodes {{ title author {{ username }} }} }} }}"#
        );
    }
    largest.push_str(" }");
    vec![
        ("variable_fanout", fanout(1000, 26_000), Effect::Deny),
        ("argument_fanout", fanout(1000, 999), Effect::Deny),
        ("batch_500", batch, Effect::Deny),
        ("fragment_fanout", serde_json::json!({ "query": fragments }).to_string(), Effect::Deny),
        ("largest_allowed", serde_json::json!({ "query": largest }).to_string(), Effect::Allow),
    ]
}

fn bench(c: &mut Criterion) {
    let Engines { native, mut component, .. } = Engines::example();

    for (name, body, effect) in requests() {
        assert!(body.len() <= 256 * 1024, "{name}: {} bytes is over the body limit", body.len());
        let request = post(body);
        let decision = native.check_request(&request);
        assert_eq!(decision.effect, effect, "{name}: {:?}", decision.reasons);
        assert_eq!(decision, component.check_request(&request), "{name}");
        let mut group = c.benchmark_group(format!("graphql_{name}"));
        group.bench_function("native", |b| b.iter(|| black_box(native.check_request(black_box(&request)))));
        group.bench_function("component", |b| b.iter(|| black_box(component.check_request(black_box(&request)))));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
