//! Decisions per second through `finegrain serve`'s decider (the engine
//! component on wasmtime's pooling allocator, one instance per worker) with
//! 1, 2 and 4 threads asking at once, each with as many workers.
//!
//!   cargo bench -p finegrain-serve --bench decisions [-- SECONDS]
//!
//! Each thread decides the same allowed HTTP request (a project's branches
//! with a CI token) in a loop for SECONDS (default 3) after a short warm-up;
//! the figure is the total over that time. Not run in CI: it depends on the machine.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use finegrain_engine::api::{Effect, HttpRequest, Request, TokenRef};
use finegrain_filter::Decider;
use finegrain_serve::decider::{PolicySource, PoolDecider};

fn request() -> Request {
    let secret = "glpat-alice-ci-secret".to_owned();
    Request::Http(HttpRequest {
        token: Some(TokenRef::Secret(secret.clone())),
        method: "GET".into(),
        path: "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches?per_page=20".into(),
        headers: vec![("PRIVATE-TOKEN".into(), secret)],
        body: None,
        owner: None,
        at: finegrain_filter::now(),
    })
}

/// Decisions per second with `threads` threads on a decider of as many workers.
fn measure(world: &Path, threads: usize, seconds: Duration) -> f64 {
    let decider = Arc::new(PoolDecider::load(PolicySource::File(world.to_owned()), threads).expect("acme loads"));
    let request = request();
    assert_eq!(decider.decide(&request).decision.effect, Effect::Allow, "the measured request is allowed");
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (decider, request, stop, counting, done) =
                (decider.clone(), request.clone(), stop.clone(), counting.clone(), done.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::black_box(decider.decide(&request));
                    if counting.load(Ordering::Relaxed) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500)); // warm-up
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(seconds);
    let count = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.join();
    }
    count as f64 / elapsed.as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; a number among the arguments is the duration.
    let seconds = std::env::args().skip(1).find_map(|a| a.parse::<u64>().ok()).unwrap_or(3);
    let world = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/acme.yaml");
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("decisions per second, serve's decider, pooling allocator, {seconds} s each, {cpus} CPUs");
    let mut base = None;
    for threads in [1, 2, 4] {
        let rate = measure(&world, threads, Duration::from_secs(seconds));
        let base = *base.get_or_insert(rate);
        println!("{threads} thread(s): {rate:>10.0} decisions/s ({:.2}x one thread)", rate / base);
    }
}
