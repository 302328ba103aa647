//! The bundle poller against a real HTTP store: Debian's nginx serving a
//! directory on a loopback port, started by the test and always stopped.
//! Also: several pollers on one URL converge on a new revision.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use finegrain_host::api::{Effect, PermissionRequest, TokenRef};
use finegrain_host::poller::{PollConfig, PollError, Polled, Poller};
use finegrain_host::runtime::EngineHost;
use finegrain_host::signing::{SecretKey, TrustedKeys};

/// nginx serving `root` on a free loopback port; killed on drop.
struct Nginx {
    child: Child,
    port: u16,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("finegrain-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Nginx {
    fn start(root: &Path, name: &str) -> Nginx {
        let dir = TempDir::new(&format!("nginx-{name}"));
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let conf = dir.0.join("nginx.conf");
        let d = dir.0.display();
        std::fs::write(
            &conf,
            format!(
                "daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;
                 events {{ worker_connections 64; }}
                 http {{ access_log off; client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};
                   uwsgi_temp_path {d}; scgi_temp_path {d};
                   server {{ listen 127.0.0.1:{port}; root {}; }} }}",
                root.display()
            ),
        )
        .unwrap();
        let binary = if Path::new("/usr/sbin/nginx").exists() { "/usr/sbin/nginx" } else { "nginx" };
        let child = Command::new(binary)
            .args(["-e", &format!("{d}/error.log"), "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx is installed (apt-get install nginx)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx { child, port, _dir: dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn acme_bundle(revoked: &[&str]) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/acme.yaml");
    let mut policy = finegrain_host::load_policy(&path).unwrap();
    if !revoked.is_empty() {
        let mut world = policy.file.take().unwrap().world;
        for token in &mut world.tokens {
            if revoked.contains(&token.name.as_str()) {
                token.revoked = true;
            }
        }
        policy.bundle = finegrain_host::build_bundle(world).unwrap();
    }
    policy.bundle
}

/// Writes the bundle and its signature, as a publisher would (signature first).
fn publish(root: &Path, bytes: &[u8], key: &SecretKey) {
    std::fs::write(root.join("acme.bundle.sig.tmp"), key.sign(bytes)).unwrap();
    std::fs::write(root.join("acme.bundle.tmp"), bytes).unwrap();
    std::fs::rename(root.join("acme.bundle.sig.tmp"), root.join("acme.bundle.sig")).unwrap();
    std::fs::rename(root.join("acme.bundle.tmp"), root.join("acme.bundle")).unwrap();
}

#[test]
fn a_signed_bundle_is_fetched_once_then_not_modified_and_a_bad_signature_is_refused() {
    let root = TempDir::new("store");
    let key = SecretKey::generate().unwrap();
    let first = acme_bundle(&[]);
    publish(&root.0, &first, &key);
    let nginx = Nginx::start(&root.0, "one");
    let trusted = TrustedKeys::new(vec![key.public()]);
    let mut poller =
        Poller::new(PollConfig::new(nginx.url("acme.bundle"), Duration::from_millis(100), trusted)).unwrap();

    let Polled::Updated { bundle, etag } = poller.poll().unwrap() else { panic!("the first poll fetches") };
    assert_eq!(bundle, first);
    assert!(etag.is_some(), "nginx sends an ETag for static files");
    poller.activated(etag);
    assert_eq!(poller.poll().unwrap(), Polled::Unchanged, "If-None-Match gets 304");

    // A new bundle signed by another key: refused, and the poller backs off.
    let intruder = SecretKey::generate().unwrap();
    std::thread::sleep(Duration::from_millis(1100)); // nginx's ETag has one-second mtimes
    publish(&root.0, &acme_bundle(&["alice-ci"]), &intruder);
    let error = poller.poll().unwrap_err();
    assert!(matches!(error, PollError::Signature(_)), "{error}");
    assert!(error.to_string().contains("which this host does not trust"), "{error}");
    assert!(poller.next_delay() >= Duration::from_millis(180));

    // Unsigned: refused too.
    std::fs::remove_file(root.0.join("acme.bundle.sig")).unwrap();
    assert_eq!(poller.poll().unwrap_err().to_string(), "the bundle is not signed and this host requires a signature");

    // Properly signed: fetched.
    let second = acme_bundle(&["alice-ci"]);
    publish(&root.0, &second, &key);
    assert_eq!(poller.poll().unwrap(), Polled::Updated { bundle: second, etag: poller_etag(&nginx) });
}

fn poller_etag(nginx: &Nginx) -> Option<String> {
    let config = PollConfig::new(nginx.url("acme.bundle"), Duration::from_secs(1), TrustedKeys::default());
    match Poller::new(config).unwrap().poll().unwrap() {
        Polled::Updated { etag, .. } => etag,
        Polled::Unchanged => None,
    }
}

/// Runs `replicas` pollers (each with its own engine instance) until each has
/// activated a bundle that revokes `alice-ci`; returns the slowest time from
/// publication to activation.
#[test]
fn replicas_on_one_url_converge_within_the_polling_interval() {
    const INTERVAL: Duration = Duration::from_millis(200);
    const REPLICAS: usize = 4;
    let root = TempDir::new("replicas");
    let key = SecretKey::generate().unwrap();
    publish(&root.0, &acme_bundle(&[]), &key);
    let nginx = Nginx::start(&root.0, "replicas");
    let host = std::sync::Arc::new(EngineHost::new().unwrap());
    let published = std::sync::Arc::new(std::sync::OnceLock::<Instant>::new());
    let ask = PermissionRequest {
        token: TokenRef::Name("alice-ci".into()),
        permission: "download_code".into(),
        namespace: Some("acme/platform/api".into()),
        ref_name: None,
        force: false,
        at: 1_795_262_400,
    };
    let replicas: Vec<_> = (0..REPLICAS)
        .map(|_| {
            let (host, published, ask) = (host.clone(), published.clone(), ask.clone());
            let config = PollConfig::new(nginx.url("acme.bundle"), INTERVAL, TrustedKeys::new(vec![key.public()]));
            std::thread::spawn(move || {
                let mut poller = Poller::new(config).unwrap();
                let mut authz = None;
                let deadline = Instant::now() + Duration::from_secs(30);
                while Instant::now() < deadline {
                    if let Ok(Polled::Updated { bundle, etag }) = poller.poll() {
                        match authz.as_mut() {
                            None => authz = Some(host.load(&bundle).unwrap()),
                            Some(a) => a.replace_bundle(&bundle).unwrap(),
                        }
                        poller.activated(etag);
                    }
                    if let Some(a) = authz.as_mut() {
                        let effect = a.check(&ask).effect;
                        match published.get() {
                            Some(at) if effect == Effect::Deny => return at.elapsed(),
                            None => assert_eq!(effect, Effect::Allow, "the first bundle allows"),
                            Some(_) => {}
                        }
                    }
                    std::thread::sleep(poller.next_delay());
                }
                panic!("a replica did not converge within 30 s");
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500)); // all replicas serve the first bundle
    let next = acme_bundle(&["alice-ci"]);
    // Marked just before the files change, so no replica sees the new bundle unmarked.
    published.set(Instant::now()).unwrap();
    publish(&root.0, &next, &key);
    let times: Vec<Duration> = replicas.into_iter().map(|r| r.join().unwrap()).collect();
    let slowest = times.iter().max().unwrap();
    eprintln!("{REPLICAS} replicas polling every {INTERVAL:?} converged in {times:?} (slowest {slowest:?})");
    // Within one jittered interval plus the fetch and load time.
    assert!(*slowest < INTERVAL * 3 + Duration::from_secs(2), "slowest replica took {slowest:?}");
}
