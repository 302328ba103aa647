//! A store with a small world, the portal binary serving it on a loopback
//! port, and `curl` to talk to it.

#![allow(dead_code)]

pub mod cdp;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use finegrain_engine::api::{GrantAccess, Timestamp};
use finegrain_engine::world::{self, Visibility, World};
use finegrain_store::{Expiry, GrantRequest, PermissionChoice, Store, TokenRequest};

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("finegrain-portal-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn now() -> Timestamp {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn world() -> World {
    let user = |name: &str, id| world::User { username: name.into(), id: Some(id), admin: false, active: true };
    let group = |path: &str, visibility| world::Group { path: path.into(), id: None, visibility };
    let project = |path: &str| world::Project {
        path: path.into(),
        id: None,
        visibility: Visibility::Private,
        protected_branches: Vec::new(),
        protected_tags: Vec::new(),
    };
    let member = |user: &str, namespace: &str| world::Member {
        user: user.into(),
        namespace: namespace.into(),
        role: "developer".into(),
        expires: None,
    };
    World {
        users: vec![user("alice", 1), user("bob", 2)],
        groups: vec![
            group("acme", Visibility::Private),
            group("acme/platform", Visibility::Private),
            group("secret-lab", Visibility::Private),
            group("opensource", Visibility::Public),
        ],
        projects: vec![project("acme/platform/api"), project("secret-lab/x")],
        members: vec![member("alice", "acme"), member("bob", "secret-lab")],
        ..World::default()
    }
}

/// Secrets of the tokens the world starts with.
pub struct Tokens {
    /// alice, legacy `api`.
    pub alice_api: String,
    /// alice, fine-grained: may only read her tokens.
    pub alice_reader: String,
    /// bob, legacy `api`.
    pub bob_api: String,
}

fn legacy(owner: &str, name: &str, scope: &str) -> TokenRequest {
    TokenRequest {
        owner: owner.into(),
        name: name.into(),
        description: None,
        scopes: vec![scope.into()],
        grants: Vec::new(),
        expires: Expiry::Default,
    }
}

/// Makes the store in `dir`.
pub fn make_store(dir: &Path) -> (PathBuf, Tokens) {
    let path = dir.join("tokens.db");
    let mut store = Store::open(&path).unwrap();
    store.import(&world(), now(), finegrain_store::ExistingTokens::Refuse).unwrap();
    let mut create = |request: TokenRequest| store.create_token(&request, now()).unwrap().secret.expose().to_owned();
    let alice_api = create(legacy("alice", "laptop", "api"));
    let bob_api = create(legacy("bob", "bobs-laptop", "api"));
    let alice_reader = create(TokenRequest {
        grants: vec![GrantRequest {
            access: GrantAccess::User,
            permissions: vec![PermissionChoice::Name("read_personal_access_token".into())],
        }],
        scopes: Vec::new(),
        ..legacy("alice", "reader", "")
    });
    (path, Tokens { alice_api, alice_reader, bob_api })
}

/// The portal binary, stopped when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    /// Starts `finegrain-portal` on a free loopback port.
    pub fn start(store: &Path, events: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_finegrain-portal"))
            .args(["--listen", "127.0.0.1:0", "--base", "/-/tokens", "--store"])
            .arg(store)
            .arg("--events")
            .arg(events)
            .env_remove("FINEGRAIN_EVENTS")
            .stdout(Stdio::piped())
            .spawn()
            .expect("finegrain-portal starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("the portal says where it listens");
        let url = line.trim().strip_prefix("listening on ").expect("a listening line").to_owned();
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer: status, headers (lower-case names) and body.
pub struct Answer {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Runs `curl -s -i ARGS…` (bounded to 20 s).
pub fn curl(args: &[&str]) -> Answer {
    let out = Command::new("curl").args(["-s", "-i", "--max-time", "20"]).args(args).output().expect("curl runs");
    assert!(out.status.success(), "curl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Answer { status, headers: head.to_lowercase(), body: body.to_owned() }
}

/// The value of the hidden CSRF field in a page.
pub fn csrf(page: &str) -> String {
    let start = page.find(r#"name="csrf" value=""#).expect("the page has a CSRF field") + 19;
    page[start..].split('"').next().unwrap().to_owned()
}
