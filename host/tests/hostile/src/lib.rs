//! A hostile engine component for the sandbox tests of every host.
//!
//! It speaks the `engine` world, so a host loads it like the real engine, and
//! misbehaves on request. `check` looks at the permission it is asked about:
//!
//! - `loop`: never returns (the host's deadline must interrupt it);
//! - `bomb`: allocates until memory runs out (the host's memory limit must stop it);
//! - `trap`: traps at once;
//! - `huge`: returns a decision whose reason detail is `HUGE_BYTES` long, over
//!   several lines (the host must bound what it passes on);
//! - `bad-id`: allows, naming a permission id outside its names table (the
//!   host must not trust it: it fails closed);
//! - anything else: allow, with the code `allowed` and the current revision.
//!
//! `check-batch` decides each entry with `check`, so one hostile entry breaks the
//! whole guest call and the host must isolate it. A bundle whose bytes are
//! `loop` or `bomb` misbehaves in `load` instead. `apply` counts: the revision is
//! 1 plus the number of updates applied, which shows whether a rebuilt instance
//! replayed them.

use std::cell::Cell;

wit_bindgen::generate!({ path: "../../../wit", world: "engine" });

use exports::finegrain::authz::authorize::{Authorizer, Guest, GuestAuthorizer};
use finegrain::authz::types as wit;
use finegrain::authz::updates as wit_updates;

/// Length of the reason detail `huge` returns: 8 MiB.
const HUGE_BYTES: usize = 8 << 20;

struct Component;

impl Guest for Component {
    type Authorizer = Hostile;
}

struct Hostile {
    revision: Cell<u64>,
}

fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn bomb() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // Touch every page so the memory is really used.
        hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
    }
}

fn reason(code: wit::ReasonCode, detail: String) -> wit::Reason {
    wit::Reason { code, detail: Some(detail) }
}

fn decision(effect: wit::Effect, reasons: Vec<wit::Reason>, revision: u64) -> wit::Decision {
    wit::Decision {
        effect,
        reasons,
        required_permissions: Vec::new(),
        accepted_permissions: Vec::new(),
        boundary: None,
        namespace: None,
        revision,
    }
}

impl Hostile {
    fn decide(&self, permission: &str) -> wit::Decision {
        let revision = self.revision.get();
        match permission {
            "loop" => spin(),
            "bomb" => bomb(),
            "trap" => panic!("hostile guest: trap on request"),
            "huge" => {
                let line = "x".repeat(1023) + "\n";
                let detail = line.repeat(HUGE_BYTES / 1024);
                decision(wit::Effect::Deny, vec![reason(wit::ReasonCode::TokenLacksPermission, detail)], revision)
            }
            "bad-id" => wit::Decision {
                required_permissions: vec![u16::MAX],
                ..decision(wit::Effect::Allow, vec![reason(wit::ReasonCode::Allowed, "bad id".into())], revision)
            },
            _ => decision(
                wit::Effect::Allow,
                vec![reason(wit::ReasonCode::Allowed, "hostile guest: harmless request".into())],
                revision,
            ),
        }
    }
}

fn permission_of(request: &wit::Request) -> &str {
    match request {
        wit::Request::Permission(p) => &p.permission,
        wit::Request::Http(h) => &h.method,
        wit::Request::Git(g) => &g.project,
    }
}

impl GuestAuthorizer for Hostile {
    fn load(bundle: Vec<u8>) -> Result<Authorizer, String> {
        match bundle.as_slice() {
            b"loop" => spin(),
            b"bomb" => bomb(),
            b"reject" => Err("hostile guest: bundle rejected".into()),
            _ => Ok(Authorizer::new(Hostile { revision: Cell::new(1) })),
        }
    }

    fn permission_names(&self) -> wit::PermissionNames {
        wit::PermissionNames { raw: vec!["read_code".into()], assignable: vec!["read_code".into()] }
    }

    fn check(&self, request: wit::PermissionRequest) -> wit::Decision {
        self.decide(&request.permission)
    }

    fn check_http(&self, request: wit::HttpRequest) -> wit::Decision {
        self.decide(&request.method)
    }

    fn check_git(&self, request: wit::GitRequest) -> wit::Decision {
        self.decide(&request.project)
    }

    fn check_batch(&self, requests: Vec<wit::Request>) -> Vec<wit::Decision> {
        requests.iter().map(|r| self.decide(permission_of(r))).collect()
    }

    fn describe(&self, request: wit::Request) -> wit::Decision {
        self.decide(permission_of(&request))
    }

    fn explain(&self, request: wit::Request) -> wit::Explanation {
        wit::Explanation { decision: self.decide(permission_of(&request)), steps: Vec::new() }
    }

    fn inspect_token(&self, _token: wit::TokenRef, _at: i64) -> Result<wit::TokenReport, String> {
        Err("hostile guest: no tokens".into())
    }

    fn apply(&self, updates: Vec<wit_updates::Update>) -> Result<u64, String> {
        self.revision.set(self.revision.get() + updates.len() as u64);
        Ok(self.revision.get())
    }

    fn revision(&self) -> u64 {
        self.revision.get()
    }
}

export!(Component);
