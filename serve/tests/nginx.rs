//! Debian's nginx in front of an upstream, with the repository's example
//! configuration (`examples/gateway/nginx.conf`), asking the gateway's `/-/auth` about
//! every request; `curl` is the client.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{acme, config, curl, echo_upstream, program};

/// nginx, stopped when dropped.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts nginx with the example configuration, its three addresses and
/// temporary paths replaced; waits until it accepts connections.
fn start_nginx(dir: &Path, gateway: &str, upstream: &str, port: u16) -> Nginx {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/gateway/nginx.conf")).unwrap();
    let conf = example
        .replace("127.0.0.1:8080", gateway)
        .replace("127.0.0.1:3000", upstream)
        .replace("127.0.0.1:8000", &format!("127.0.0.1:{port}"))
        .replace("/tmp/finegrain-nginx", &dir.join("nginx").display().to_string());
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(program("nginx"))
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .spawn()
        .expect("start nginx (Debian's nginx; .ci/run installs it)");
    let nginx = Nginx(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not start within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    nginx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_with_the_example_configuration() {
    let upstream = echo_upstream().await;
    let gateway = finegrain_serve::start(config(&acme(), None), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _nginx = start_nginx(dir.path(), &gateway.http_address.to_string(), &upstream.to_string(), port);
    let url = format!("http://127.0.0.1:{port}/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches?per_page=5");

    let allowed = curl(&["-H", "PRIVATE-TOKEN: glpat-alice-ci-secret", "-H", "X-Finegrain-User: root", &url]).await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    let echo = allowed.json();
    assert_eq!(echo["target"], "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches?per_page=5");
    assert_eq!(echo["headers"]["x-finegrain-user"], "alice", "set by nginx from the decision, not by the client");
    assert_eq!(echo["headers"]["x-finegrain-token"], "alice-ci");

    let missing = curl(&[&url]).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.header("www-authenticate"), Some("Basic realm=\"finegrain\""));

    let forbidden = curl(&["-H", "PRIVATE-TOKEN: glpat-alice-profile", &url]).await;
    assert_eq!(forbidden.status, 403);
    let accepted = forbidden.header("x-accepted-finegrain-permissions").expect("accepted permissions passed on");
    assert!(accepted.split(", ").any(|p| p == "read_branch"), "{accepted}");
    gateway.shutdown().await.unwrap();
}
