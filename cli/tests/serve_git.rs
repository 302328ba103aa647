//! `finegrain serve` and `finegrain hook pre-receive` with real Git: the
//! `git` client clones, fetches and pushes through the gateway to `git
//! http-backend` behind Debian's nginx and fcgiwrap, all on loopback ports,
//! started here and stopped at the end. Also: live token changes made with
//! the CLI are honoured by a running gateway within a second, and a bad
//! configuration exits 2.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FINEGRAIN: &str = env!("CARGO_BIN_EXE_finegrain");

fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/acme.yaml")
}

/// A child process killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Debian program, found in `/usr/sbin` even when that is not on `PATH`.
fn program(name: &str) -> PathBuf {
    let sbin = Path::new("/usr/sbin").join(name);
    if sbin.exists() { sbin } else { PathBuf::from(name) }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `finegrain serve ARGS --listen 127.0.0.1:0`; returns it, its address and its stderr lines so far.
fn start_gateway(args: &[&str]) -> (Server, String, Arc<Mutex<Vec<String>>>) {
    let mut child = Command::new(FINEGRAIN)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start finegrain serve");
    let stderr = child.stderr.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (sender, receiver) = std::sync::mpsc::channel();
    let seen = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("finegrain serve: listening on ") {
                let _ = sender.send(rest.split(' ').next().unwrap_or_default().to_owned());
            }
            seen.lock().unwrap().push(line);
        }
    });
    let server = Server(child);
    let address = receiver.recv_timeout(Duration::from_secs(30)).expect("the gateway says where it listens");
    (server, address, lines)
}

fn run(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

fn git(dir: &Path, home: &Path, args: &[&str]) -> Output {
    run(Command::new("git")
        .current_dir(dir)
        .env("HOME", home)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"])
        .args(args))
}

fn ok(output: Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn refused(output: Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "expected a refused push:\n{stderr}");
    stderr
}

/// The Git server: bare repository `acme/platform/api.git` seeded with one
/// commit on main, the finegrain hook installed, git http-backend under
/// fcgiwrap behind nginx. Returns the servers and nginx's port.
fn git_server(root: &Path) -> (Vec<Server>, u16) {
    let repos = root.join("repos");
    let bare = repos.join("acme/platform/api.git");
    std::fs::create_dir_all(&bare).unwrap();
    ok(git(root, root, &["init", "-q", "--bare", bare.to_str().unwrap()]));
    ok(git(&bare, root, &["config", "http.receivepack", "true"]));
    let seed = root.join("seed");
    ok(git(root, root, &["init", "-q", seed.to_str().unwrap()]));
    std::fs::write(seed.join("README.md"), "api\n").unwrap();
    ok(git(&seed, root, &["add", "README.md"]));
    ok(git(&seed, root, &["commit", "-q", "-m", "first"]));
    ok(git(&seed, root, &["push", "-q", bare.to_str().unwrap(), "main"]));
    let hook = bare.join("hooks/pre-receive");
    let script = format!(
        "#!/bin/sh\nexport PATH=/usr/local/bin:/usr/bin:/bin\nexec '{FINEGRAIN}' hook pre-receive --world '{}'\n",
        acme().display()
    );
    std::fs::write(&hook, script).unwrap();
    run(Command::new("chmod").arg("755").arg(&hook));

    let fcgi_port = free_port();
    let fcgiwrap = Server(
        Command::new(program("fcgiwrap"))
            .args(["-s", &format!("tcp:127.0.0.1:{fcgi_port}")])
            .spawn()
            .expect("start fcgiwrap"),
    );
    wait_for_port(fcgi_port, "fcgiwrap");
    let exec_path = ok(run(Command::new("git").arg("--exec-path"))).trim().to_owned();
    let port = free_port();
    let temp = root.join("nginx");
    let conf = format!(
        "worker_processes 1; pid {t}.pid; error_log stderr warn; daemon off;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {t}-body; proxy_temp_path {t}-proxy; fastcgi_temp_path {t}-fastcgi;
  uwsgi_temp_path {t}-uwsgi; scgi_temp_path {t}-scgi;
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 0;
    location / {{
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME {exec_path}/git-http-backend;
      fastcgi_param GIT_PROJECT_ROOT {repos};
      fastcgi_param GIT_HTTP_EXPORT_ALL \"\";
      fastcgi_param PATH_INFO $uri;
      fastcgi_param REMOTE_USER $http_x_finegrain_user;
      fastcgi_pass 127.0.0.1:{fcgi_port};
    }}
  }}
}}
",
        t = temp.display(),
        repos = repos.display(),
    );
    let conf_path = root.join("git-nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let nginx = Server(
        Command::new(program("nginx"))
            .arg("-p")
            .arg(root)
            .arg("-c")
            .arg(&conf_path)
            .spawn()
            .expect("start nginx (Debian's nginx)"),
    );
    wait_for_port(port, "nginx");
    (vec![nginx, fcgiwrap], port)
}

#[test]
fn git_clone_fetch_and_push_through_the_gateway_and_the_hook() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let (_servers, git_port) = git_server(root);
    let upstream = format!("http://127.0.0.1:{git_port}");
    let (_gateway, address, log) = start_gateway(&["--world", acme().to_str().unwrap(), "--upstream", &upstream]);
    let url = |credentials: &str| format!("http://{credentials}@{address}/acme/platform/api.git");

    // Clone and push a new branch: allowed by the gateway and by the hook.
    ok(git(root, root, &["clone", "-q", &url("alice:glpat-alice-push"), "alice"]));
    let alice = root.join("alice");
    assert_eq!(std::fs::read_to_string(alice.join("README.md")).unwrap(), "api\n");
    ok(git(&alice, root, &["checkout", "-q", "-b", "feature/a"]));
    std::fs::write(alice.join("a.txt"), "a\n").unwrap();
    ok(git(&alice, root, &["add", "a.txt"]));
    ok(git(&alice, root, &["commit", "-q", "-m", "a"]));
    ok(git(&alice, root, &["push", "-q", "origin", "feature/a"]));

    // A developer pushing to the protected main: refused by the gateway, and
    // the reason is on the pusher's terminal.
    let stderr = refused(git(&alice, root, &["push", "origin", "feature/a:main"]));
    assert!(stderr.contains("remote: finegrain: push refused: branch_protected: "), "{stderr}");
    assert!(stderr.contains("[remote rejected]"), "{stderr}");

    // The maintainer's force push to main: the gateway cannot see it is forced,
    // the hook inside the Git server can, and refuses it.
    ok(git(root, root, &["clone", "-q", &url("dave:glpat-dave-api"), "dave"]));
    let dave = root.join("dave");
    std::fs::write(dave.join("README.md"), "rewritten\n").unwrap();
    ok(git(&dave, root, &["commit", "-q", "-a", "--amend", "-m", "rewritten"]));
    let stderr = refused(git(&dave, root, &["push", "--force", "origin", "main"]));
    assert!(stderr.contains("remote: finegrain:   force_push_forbidden: "), "{stderr}");
    assert!(stderr.contains("pre-receive hook declined"), "{stderr}");

    // The same maintainer's fast-forward to main is fine; alice fetches it.
    ok(git(&dave, root, &["reset", "-q", "--hard", "origin/main"]));
    std::fs::write(dave.join("b.txt"), "b\n").unwrap();
    ok(git(&dave, root, &["add", "b.txt"]));
    ok(git(&dave, root, &["commit", "-q", "-m", "b"]));
    ok(git(&dave, root, &["push", "-q", "origin", "main"]));
    ok(git(&alice, root, &["fetch", "-q", "origin"]));
    let log_line = ok(git(&alice, root, &["log", "-1", "--format=%s", "origin/main"]));
    assert_eq!(log_line.trim(), "b");

    // A token without Git access cannot even clone.
    let stderr = refused(git(root, root, &["clone", "-q", &url("alice:glpat-alice-profile"), "nope"]));
    assert!(stderr.contains("403"), "{stderr}");

    // The decision log named tokens and users, never a secret.
    let log = log.lock().unwrap().join("\n");
    assert!(log.contains("\"token\":\"dave-api\"") && log.contains("\"user\":\"alice\""), "{log}");
    assert!(!log.contains("glpat-"), "a secret reached the log:\n{log}");
}

fn status_of(address: &str, secret: &str) -> u16 {
    let output = run(Command::new("curl").args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "5",
        "-H",
        "X-Original-Method: GET",
        "-H",
        "X-Original-URI: /api/v4/projects/acme%2Fplatform%2Fapi/repository/branches",
        "-H",
        &format!("PRIVATE-TOKEN: {secret}"),
        &format!("http://{address}/-/auth"),
    ]));
    String::from_utf8_lossy(&output.stdout).parse().unwrap_or(0)
}

/// Polls until `secret` gets `status`; returns how long that took.
fn until_status(address: &str, secret: &str, status: u16) -> Duration {
    let started = Instant::now();
    while status_of(address, secret) != status {
        assert!(started.elapsed() < Duration::from_secs(5), "{secret} never got {status}");
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

fn finegrain(store: &Path, args: &[&str]) -> String {
    ok(run(Command::new(FINEGRAIN).env("FINEGRAIN_STORE", store).args(args)))
}

#[test]
fn tokens_created_revoked_and_rotated_with_the_cli_apply_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.db");
    finegrain(&store, &["store", "init"]);
    finegrain(&store, &["store", "import", acme().to_str().unwrap()]);
    let (_gateway, address, _log) = start_gateway(&["--store", store.to_str().unwrap()]);
    assert_eq!(status_of(&address, "glpat-alice-ci-secret"), 200);

    finegrain(&store, &["token", "revoke", "--owner", "alice", "--name", "alice-ci"]);
    let took = until_status(&address, "glpat-alice-ci-secret", 401);
    assert!(took < Duration::from_secs(1), "revocation took {took:?}");

    let created = finegrain(
        &store,
        &[
            "token",
            "create",
            "--owner",
            "alice",
            "--name",
            "live",
            "--namespace",
            "acme/platform",
            "--permission",
            "read_branch",
        ],
    );
    let secret = created.lines().find(|l| l.starts_with("glpat-")).expect("the new secret").trim().to_owned();
    let took = until_status(&address, &secret, 200);
    assert!(took < Duration::from_secs(1), "creation took {took:?}");

    let rotated = finegrain(&store, &["token", "rotate", "--owner", "alice", "--name", "live"]);
    let new_secret = rotated.lines().find(|l| l.starts_with("glpat-")).expect("the rotated secret").trim().to_owned();
    let took = until_status(&address, &secret, 401).max(until_status(&address, &new_secret, 200));
    assert!(took < Duration::from_secs(1), "rotation took {took:?}");

    // The same store's token pages and token API are served at /-/tokens/.
    let page = curl(&["http://ADDR/-/tokens/sign_in"], &address);
    assert!(page.starts_with("200 ") && page.contains("Sign in"), "{page}");
    // The API asks the engine: this token holds only read_branch, not the
    // user-level read_personal_access_token its list needs.
    let list = curl(
        &["-H", &format!("PRIVATE-TOKEN: {new_secret}"), "http://ADDR/-/tokens/api/v4/personal_access_tokens"],
        &address,
    );
    assert!(list.starts_with("403 ") && list.contains("scope_excludes_namespace"), "{list}");
    assert!(!list.contains("glpat-"), "a secret in an answer: {list}");
    let refused = curl(
        &["-H", &format!("PRIVATE-TOKEN: {secret}"), "http://ADDR/-/tokens/api/v4/personal_access_tokens"],
        &address,
    );
    assert!(refused.starts_with("401 "), "{refused}");
}

/// `curl` with `args` (URLs written with `ADDR`); the status code, a space and the body.
fn curl(args: &[&str], address: &str) -> String {
    let args: Vec<String> = args.iter().map(|a| a.replace("ADDR", address)).collect();
    let output = run(Command::new("curl").args(["-s", "--max-time", "5", "-w", "\n%{http_code}"]).args(&args));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    format!("{status} {body}")
}

#[test]
fn a_bad_configuration_names_file_and_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("serve.toml");
    std::fs::write(&config, "store = \"s.db\"\n[limits]\nmax_connections = -1\n").unwrap();
    let output = run(Command::new(FINEGRAIN).args(["serve", "--config", config.to_str().unwrap()]));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("{}:3: key `limits.max_connections`: ", config.display())), "{stderr}");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/gateway/serve.toml");
    let output =
        run(Command::new(FINEGRAIN).args(["serve", "--config", example.to_str().unwrap(), "--upstream", "ftp://x"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("key `upstream`"));
}

#[test]
fn sigterm_stops_the_gateway_cleanly() {
    let (mut gateway, address, log) = start_gateway(&["--world", acme().to_str().unwrap()]);
    assert_eq!(status_of(&address, "glpat-alice-ci-secret"), 200);
    run(Command::new("kill").args(["-TERM", &gateway.0.id().to_string()]));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = gateway.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the gateway did not stop within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert!(log.lock().unwrap().iter().any(|l| l.contains("shutting down")));
}
