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
