//! What the gateway tests share: an upstream that echoes what it received, a
//! gateway started in this process, and `curl` as the client.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use finegrain_serve::config::Config;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// The Acme world of the repository's example.
pub fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/acme.yaml")
}

/// An upstream on a loopback port answering every request with a JSON echo of
/// it: method, target, headers, body length. `/slow` waits a second first.
pub async fn echo_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the upstream");
    let address = listener.local_addr().expect("upstream address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(|r| async { Ok::<_, std::convert::Infallible>(echo(r).await) });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = builder.serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    address
}

async fn echo(request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.uri().path() == "/slow" {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    let headers: serde_json::Map<String, serde_json::Value> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into()))
        .collect();
    let echo = serde_json::json!({
        "method": parts.method.as_str(),
        "target": parts.uri.to_string(),
        "headers": headers,
        "body_length": body.len(),
        "body_start": String::from_utf8_lossy(&body[..body.len().min(200)]),
    });
    Response::builder()
        .header("content-type", "application/json")
        .header("connection", "keep-alive")
        .header("x-upstream", "echo")
        .body(Full::new(Bytes::from(echo.to_string())))
        .expect("echo response")
}

/// A configuration on loopback ports deciding with `world`, to `upstream`.
pub fn config(world: &Path, upstream: Option<SocketAddr>) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        upstream: upstream.map(|a| format!("http://{a}")),
        world: Some(world.to_owned()),
        workers: 2,
        ..Config::default()
    }
}

/// What curl saw.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Runs `curl` with `args` (the URL among them), bounded to 10 seconds, on a
/// blocking thread.
pub async fn curl(args: &[&str]) -> Answer {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || curl_blocking(&args)).await.expect("curl thread")
}

fn curl_blocking(args: &[String]) -> Answer {
    let output = Command::new("curl")
        .args(["-s", "-S", "-i", "--max-time", "10"])
        .args(args)
        .output()
        .expect("run curl (install Debian's curl)");
    assert!(output.status.success(), "curl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer { status, headers, body: body.to_owned() }
}

/// A Debian program, found in `/usr/sbin` even when that is not on `PATH`.
pub fn program(name: &str) -> PathBuf {
    let sbin = Path::new("/usr/sbin").join(name);
    if sbin.exists() { sbin } else { PathBuf::from(name) }
}

/// Debian's nginx serving the files of `root` on a free loopback port, as a
/// plain HTTP store (bundles, signatures, components); killed when dropped.
pub struct FileStore {
    child: std::process::Child,
    /// The port it listens on.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl FileStore {
    /// Starts nginx and waits (up to 10 s) until it accepts connections.
    pub fn start(root: &Path) -> FileStore {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("port").port();
        let d = dir.path().display();
        let conf = dir.path().join("nginx.conf");
        let text = format!(
            "daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;
             events {{ worker_connections 64; }}
             http {{ access_log off; client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};
               uwsgi_temp_path {d}; scgi_temp_path {d};
               server {{ listen 127.0.0.1:{port}; root {}; }} }}",
            root.display()
        );
        std::fs::write(&conf, text).expect("write nginx.conf");
        let child = Command::new(program("nginx"))
            .args(["-e", &format!("{d}/error.log"), "-c"])
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nginx (Debian's nginx; .ci/run installs it)");
        let store = FileStore { child, port, _dir: dir };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "nginx did not start within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        store
    }

    /// The URL of a file in the store.
    pub fn url(&self, file: &str) -> String {
        format!("http://127.0.0.1:{}/{file}", self.port)
    }
}

impl Drop for FileStore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Acme world as a bundle at `revision`, with the named tokens revoked.
pub fn acme_bundle(revision: u64, revoked: &[&str]) -> Vec<u8> {
    let policy = finegrain_host::load_policy(&acme()).expect("the Acme world loads");
    let mut world = policy.file.expect("a YAML world").world;
    world.revision = revision;
    for token in &mut world.tokens {
        if revoked.contains(&token.name.as_str()) {
            token.revoked = true;
        }
    }
    finegrain_host::build_bundle(world).expect("the bundle builds")
}

/// Writes `bytes` as `root/name` with its signature `name.sig` by `key`, each
/// by a rename, signature first, as a publisher would. nginx's ETag counts
/// whole seconds, so this first waits for the clock to pass one.
pub fn publish(root: &Path, name: &str, bytes: &[u8], key: &finegrain_host::signing::SecretKey) {
    std::thread::sleep(Duration::from_millis(1100));
    let sig = format!("{name}.sig");
    std::fs::write(root.join("sig.tmp"), key.sign(bytes)).expect("write the signature");
    std::fs::write(root.join("file.tmp"), bytes).expect("write the file");
    std::fs::rename(root.join("sig.tmp"), root.join(sig)).expect("publish the signature");
    std::fs::rename(root.join("file.tmp"), root.join(name)).expect("publish the file");
}
