//! Engine hot swap under load: `finegrain serve` with a component file, a
//! canary and the loopback admin listener; 100 swaps between two signed
//! components while clients keep asking, then a refused unsigned component,
//! a refused non-component, and a rollback. Prints the swap latency.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use finegrain_host::runtime::COMPONENT;
use finegrain_host::signing::SecretKey;
use finegrain_serve::config::{Config, EngineConfig};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use support::{acme, config, echo_upstream};

const BRANCHES: &str = "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches";
const SWAPS: usize = 100;
const CLIENTS: usize = 4;

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// The built-in component with a custom section added: the same engine under another digest.
fn variant(label: &str) -> Vec<u8> {
    let mut bytes = COMPONENT.to_vec();
    let name = b"finegrain-test-variant";
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name);
    body.extend_from_slice(label.as_bytes());
    bytes.push(0);
    bytes.push(body.len() as u8); // under 128 bytes: one LEB128 byte
    bytes.extend_from_slice(&body);
    bytes
}

fn install(path: &Path, bytes: &[u8], key: Option<&SecretKey>) {
    let sig = path.with_extension("wasm.sig");
    match key {
        Some(key) => std::fs::write(&sig, key.sign(bytes)).unwrap(),
        None => {
            let _ = std::fs::remove_file(&sig);
        }
    }
    std::fs::write(path, bytes).unwrap();
}

async fn call(client: &HttpClient, method: http::Method, url: &str) -> (u16, serde_json::Value) {
    let request = http::Request::builder().method(method).uri(url).body(Empty::new()).unwrap();
    let response = client.request(request).await.expect("the admin listener answers");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

/// Asks continuously until `stop`; counts answers that are not 200 for an allowed request.
fn load(client: HttpClient, url: String, stop: Arc<AtomicBool>, done: Arc<AtomicU64>, failed: Arc<AtomicU64>) {
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            let request =
                http::Request::get(&url).header("PRIVATE-TOKEN", "glpat-alice-ci-secret").body(Empty::new()).unwrap();
            let ok = match client.request(request).await {
                Ok(response) => {
                    let status = response.status();
                    response.into_body().collect().await.is_ok() && status == 200
                }
                Err(_) => false,
            };
            done.fetch_add(1, Ordering::Relaxed);
            if !ok {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_engine_swaps_under_load_fail_no_request_and_a_rollback_returns() {
    let dir = tempfile::tempdir().unwrap();
    let key = SecretKey::generate().unwrap();
    let public = dir.path().join("publisher.pub");
    std::fs::write(&public, key.public().to_text()).unwrap();
    let component = dir.path().join("engine.wasm");
    let (a, b) = (variant("a"), variant("b"));
    install(&component, &a, Some(&key));

    let upstream = echo_upstream().await;
    let mut config: Config = config(&acme(), Some(upstream));
    config.log.decisions = false;
    config.bundle.trusted_keys = vec![public];
    config.engine = EngineConfig {
        component: Some(component.clone()),
        canary: Some(acme()),
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
    };
    let gateway = finegrain_serve::start(config, None).await.unwrap();
    let admin = format!("http://{}/-/admin", gateway.admin_address.unwrap());
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let (status, body) = call(&client, http::Method::GET, &format!("{admin}/status")).await;
    assert_eq!(status, 200);
    let digest_a = finegrain_serve::swap::digest(&a);
    assert_eq!(body["serving"]["engine"], digest_a.as_str());

    let (stop, done, failed) =
        (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let url = format!("http://{}{BRANCHES}", gateway.http_address);
    for _ in 0..CLIENTS {
        load(client.clone(), url.clone(), stop.clone(), done.clone(), failed.clone());
    }
    let mut took = Vec::with_capacity(SWAPS);
    for swap in 0..SWAPS {
        let next = if swap % 2 == 0 { &b } else { &a };
        install(&component, next, Some(&key));
        let started = Instant::now();
        let (status, body) = call(&client, http::Method::POST, &format!("{admin}/engine")).await;
        took.push(started.elapsed());
        assert_eq!(status, 200, "swap {swap}: {body}");
        assert_eq!(body["serving"]["engine"], finegrain_serve::swap::digest(next).as_str());
    }
    let during = done.load(Ordering::Relaxed);

    // Unsigned, then not a component: refused, the running engine stays.
    install(&component, &b, None);
    let (status, body) = call(&client, http::Method::POST, &format!("{admin}/engine")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("not signed"), "{body}");
    install(&component, b"not wasm", Some(&key));
    let (status, body) = call(&client, http::Method::POST, &format!("{admin}/engine")).await;
    assert_eq!(status, 422, "{body}");
    let (_, body) = call(&client, http::Method::GET, &format!("{admin}/status")).await;
    assert_eq!(body["serving"]["engine"], digest_a.as_str(), "after an even number of swaps, a serves");

    // Rollback: b (the engine before the last swap) serves again; twice undoes it.
    let (status, body) = call(&client, http::Method::POST, &format!("{admin}/rollback")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["serving"]["engine"], finegrain_serve::swap::digest(&b).as_str());
    let (_, body) = call(&client, http::Method::POST, &format!("{admin}/rollback")).await;
    assert_eq!(body["serving"]["engine"], digest_a.as_str());

    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    took.sort();
    let total: Duration = took.iter().sum();
    eprintln!(
        "{SWAPS} engine swaps under load ({CLIENTS} clients, {during} requests meanwhile, {} failed): \
         swap latency (admin call round trip) median {:?}, p90 {:?}, max {:?}, mean {:?}",
        failed.load(Ordering::Relaxed),
        took[SWAPS / 2],
        took[SWAPS * 9 / 10],
        took[SWAPS - 1],
        total / SWAPS as u32,
    );
    assert!(during > SWAPS as u64, "the clients kept asking during the swaps ({during} requests)");
    assert_eq!(failed.load(Ordering::Relaxed), 0, "requests failed during the swaps");
    gateway.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_canary_or_an_unsigned_component_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary.yaml");
    std::fs::write(
        &canary,
        format!("cases:\n  - name: profile token lists branches\n    token: alice-profile\n    request: GET {BRANCHES}\n    expect: allow\n"),
    )
    .unwrap();
    let mut with_canary = config(&acme(), None);
    with_canary.engine.canary = Some(canary);
    let error = finegrain_serve::start(with_canary, None).await.err().expect("the canary fails");
    let error = format!("{error:#}");
    assert!(error.contains("canary") && error.contains("profile token lists branches"), "{error}");

    let key = SecretKey::generate().unwrap();
    let public = dir.path().join("k.pub");
    std::fs::write(&public, key.public().to_text()).unwrap();
    let component = dir.path().join("engine.wasm");
    install(&component, COMPONENT, None);
    let mut unsigned = config(&acme(), None);
    unsigned.engine.component = Some(component);
    unsigned.bundle.trusted_keys = vec![public];
    let error = format!("{:#}", finegrain_serve::start(unsigned, None).await.err().expect("refused"));
    assert!(error.contains("engine.wasm: the bundle is not signed"), "{error}");
}
