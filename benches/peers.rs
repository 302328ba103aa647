//! The peers world: the synthetic GitLab-style world that Cedar, Regorus and a
//! plain-Rust statement of the rule are measured on in
//! `../shared/tools/authz-peers`, decided by finegrain natively and through
//! the component.
//!
//!     cargo bench -p finegrain-benches --bench peers
//!     FINEGRAIN_PEERS_SCALE=small cargo bench -p finegrain-benches --bench peers
//!
//! The world is generated at bench time under the target directory (the
//! harness's dump, converted by its `scripts/to_finegrain.py`); nothing of it is
//! committed. Without `../shared/tools/authz-peers` the bench says so and does
//! nothing. Groups:
//! - `peers_check`: one permission check per iteration, cycling through the
//!   harness's 10,000 requests (the figure to compare with the peers' median);
//! - `peers_batch_1000`: 1000 of those requests in one batch call (throughput in
//!   decisions per second);
//! - `peers_load`: the bundle loaded natively and into a fresh component instance.
//!
//! `scripts/bench-peers` runs the peers themselves in the same run and prints
//! the ratios.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use finegrain_benches::{Engines, peers_scenario};
use finegrain_host::api::Request;

fn bench(c: &mut Criterion) {
    let scale = std::env::var("FINEGRAIN_PEERS_SCALE").ok().filter(|s| !s.is_empty()).unwrap_or("large".into());
    let scenario = match peers_scenario(&scale) {
        Ok(Some(path)) => path,
        Ok(None) => {
            println!("peers: skipped: ../shared/tools/authz-peers is not beside the repository");
            return;
        }
        Err(e) => panic!("peers world: {e}"),
    };
    let started = Instant::now();
    let Engines { policy, native, host, mut component } = Engines::load(&scenario);
    println!("peers ({scale}): {} loaded both ways in {:.1?}", scenario.display(), started.elapsed());
    let requests = Engines::case_requests_of(&policy, 0);
    let cases = policy.file.as_ref().map(|f| f.cases.as_slice()).unwrap_or_default();
    for (case, request) in cases.iter().zip(&requests) {
        let decision = native.check_request(request);
        assert!(finegrain_host::scenario::meets(case, &decision), "{}: {:?}", case.name, decision.reasons);
        assert_eq!(decision, component.check_request(request), "{}", case.name);
    }
    println!("peers ({scale}): all {} decisions agree with the harness's expected ones", requests.len());

    let mut group = c.benchmark_group("peers_check");
    group.bench_function("native", |b| {
        let mut next = requests.iter().cycle();
        b.iter(|| black_box(native.check_request(black_box(next_request(&mut next)))))
    });
    group.bench_function("component", |b| {
        let mut next = requests.iter().cycle();
        b.iter(|| black_box(component.check_request(black_box(next_request(&mut next)))))
    });
    group.finish();

    let batch = &requests[..requests.len().min(1000)];
    let mut group = c.benchmark_group("peers_batch_1000");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("native", |b| b.iter(|| black_box(native.check_batch(black_box(batch)))));
    group.bench_function("component", |b| b.iter(|| black_box(component.check_batch(black_box(batch)))));
    group.finish();

    let mut group = c.benchmark_group("peers_load");
    group.sample_size(10);
    group
        .bench_function("native", |b| b.iter(|| black_box(finegrain_engine::Authorizer::load(&policy.bundle).is_ok())));
    group.bench_function("component", |b| b.iter(|| black_box(host.load(&policy.bundle).is_ok())));
    group.finish();
}

fn next_request<'a>(next: &mut impl Iterator<Item = &'a Request>) -> &'a Request {
    next.next().unwrap_or_else(|| unreachable!("a cycle over a non-empty list never ends"))
}

criterion_group!(benches, bench);
criterion_main!(benches);
