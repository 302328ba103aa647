//! `finegrain serve` polling a signed bundle from a real HTTP store (Debian's
//! nginx serving a directory): a new signed bundle changes decisions, a
//! wrongly signed one is refused and the running revision keeps serving.

mod support;

use std::time::{Duration, Instant};

use finegrain_host::signing::SecretKey;
use finegrain_serve::config::{BundleSource, Config};
use support::{Answer, FileStore, acme_bundle, curl, echo_upstream, publish};

const BRANCHES: &str = "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches";

/// Asks until `done` holds for the answer, for at most `limit`.
async fn ask_until(url: &str, limit: Duration, done: impl Fn(&Answer) -> bool) -> Answer {
    let started = Instant::now();
    loop {
        let answer = curl(&["-H", "PRIVATE-TOKEN: glpat-alice-ci-secret", url]).await;
        if done(&answer) || started.elapsed() > limit {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_activates_signed_bundles_and_refuses_a_wrongly_signed_one() {
    let root = tempfile::tempdir().unwrap();
    let key = SecretKey::generate().unwrap();
    let public = root.path().join("publisher.pub");
    std::fs::write(&public, key.public().to_text()).unwrap();
    let files = tempfile::tempdir().unwrap();
    publish(files.path(), "acme.bundle", &acme_bundle(10, &[]), &key);
    let store = FileStore::start(files.path());
    let upstream = echo_upstream().await;

    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: Some(format!("http://{upstream}")),
        bundle: BundleSource { url: Some(store.url("acme.bundle")), trusted_keys: vec![public], interval_ms: 100 },
        workers: 2,
        ..Config::default()
    };
    config.validate("test").unwrap();
    let gateway = finegrain_serve::start(config, None).await.unwrap();
    let url = format!("http://{}{BRANCHES}", gateway.http_address);

    let first = ask_until(&url, Duration::ZERO, |_| true).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("x-finegrain-revision"), Some("10"), "allowed answers carry the revision");

    // A signed bundle revoking alice-ci: activated within a few intervals.
    publish(files.path(), "acme.bundle", &acme_bundle(11, &["alice-ci"]), &key);
    let revoked = ask_until(&url, Duration::from_secs(10), |a| a.status == 401).await;
    assert_eq!(revoked.status, 401, "the new bundle was not activated: {}", revoked.body);
    assert_eq!(revoked.header("x-finegrain-revision"), Some("11"));
    assert_eq!(revoked.json()["reasons"][0]["code"], "token_revoked");

    // A bundle signed by a key serve does not trust: refused, revision 11 keeps serving.
    let intruder = SecretKey::generate().unwrap();
    publish(files.path(), "acme.bundle", &acme_bundle(12, &[]), &intruder);
    tokio::time::sleep(Duration::from_millis(1500)).await; // several polls, with backoff
    let kept = ask_until(&url, Duration::ZERO, |_| true).await;
    assert_eq!((kept.status, kept.header("x-finegrain-revision")), (401, Some("11")), "{}", kept.body);

    // Signed by the trusted key again: the poller recovers from its backoff.
    publish(files.path(), "acme.bundle", &acme_bundle(13, &[]), &key);
    let back = ask_until(&url, Duration::from_secs(15), |a| a.status == 200).await;
    assert_eq!((back.status, back.header("x-finegrain-revision")), (200, Some("13")), "{}", back.body);
    gateway.shutdown().await.unwrap();
}

#[test]
fn a_bundle_url_is_one_policy_source_among_three() {
    let mut config = Config { store: Some("s.db".into()), ..Config::default() };
    config.bundle.url = Some("http://127.0.0.1:9/b.bundle".into());
    let error = config.validate("serve.toml").unwrap_err().0;
    assert_eq!(error, "serve.toml: key `world`: give one of `store`, `world` and `bundle.url`, not several");
    config.store = None;
    config.bundle.url = Some("https://cdn/b.bundle".into());
    let error = config.validate("serve.toml").unwrap_err().0;
    assert!(error.starts_with("serve.toml: key `bundle.url`: bundle url \"https://cdn/b.bundle\""), "{error}");
}
