//! The Rust host against a hostile engine component (host/tests/hostile): an
//! endless loop, a memory bomb, a trap and a huge output. Each is denied with
//! `engine_failure` and a one-line reason, the host answers the next request on
//! a rebuilt instance, and the updates applied before the failure survive it.

mod support;

use std::time::{Duration, Instant};

use finegrain_host::api::{Decision, Effect, PermissionRequest, Request, TokenRef, Update};
use finegrain_host::failure::MAX_DETAIL;
use finegrain_host::limits::{Limits, TICK};
use finegrain_host::runtime::{Authorizer, EngineHost};

const DEADLINE: Duration = Duration::from_millis(100);

fn limits() -> Limits {
    Limits {
        memory: Some(64 << 20),
        call_deadline: DEADLINE,
        load_deadline: Duration::from_millis(500),
        ..Limits::default()
    }
}

fn hostile() -> Authorizer {
    let host = EngineHost::with_limits(support::hostile_component(), limits()).expect("the hostile component compiles");
    host.load(b"any bundle").expect("the hostile guest loads any bundle")
}

/// Limits where the memory limit, not the deadline, stops a memory bomb even on
/// a busy machine.
fn memory_bound() -> Limits {
    Limits { call_deadline: Duration::from_secs(30), load_deadline: Duration::from_secs(30), ..limits() }
}

fn ask(permission: &str) -> PermissionRequest {
    PermissionRequest {
        token: TokenRef::Name("t".into()),
        permission: permission.into(),
        namespace: None,
        ref_name: None,
        force: false,
        at: 0,
    }
}

fn assert_engine_failure(decision: &Decision, revision: u64) -> String {
    assert_eq!(decision.effect, Effect::Deny);
    assert_eq!(decision.reasons.len(), 1, "{decision:?}");
    assert_eq!(decision.reasons[0].code, "engine_failure");
    assert_eq!(decision.revision, revision);
    let detail = decision.reasons[0].detail.clone().expect("a host failure is described");
    assert!(!detail.contains('\n'), "a one-line detail, not {detail:?}");
    assert!(!detail.contains("backtrace"), "no backtrace in {detail:?}");
    detail
}

fn assert_allowed(decision: &Decision, revision: u64) {
    assert_eq!(decision.effect, Effect::Allow, "{decision:?}");
    assert_eq!(decision.revision, revision);
}

#[test]
fn an_endless_loop_is_interrupted_at_the_deadline_and_the_next_check_is_answered() {
    let mut authz = hostile();
    let started = Instant::now();
    let decision = authz.check(&ask("loop"));
    let took = started.elapsed();
    eprintln!("rust: deadline {DEADLINE:?}, endless loop interrupted after {took:?}");
    let detail = assert_engine_failure(&decision, 1);
    assert_eq!(detail, "the engine ran past its deadline of 100 ms and was interrupted");
    // At least the deadline less one tick: the first tick may come at once.
    assert!(took >= DEADLINE - TICK, "interrupted after {took:?}, before the deadline");
    // A generous bound: the point is that the call returns at all.
    assert!(took < DEADLINE * 20, "interrupted only after {took:?}");
    assert_allowed(&authz.check(&ask("read_code")), 1);
}

#[test]
fn a_memory_bomb_hits_the_memory_limit_and_the_next_check_is_answered() {
    let host = EngineHost::with_limits(support::hostile_component(), memory_bound()).unwrap();
    let mut authz = host.load(b"any bundle").unwrap();
    let detail = assert_engine_failure(&authz.check(&ask("bomb")), 1);
    assert!(detail.starts_with("the engine trapped: "), "{detail}");
    assert_allowed(&authz.check(&ask("read_code")), 1);
    // Again: the rebuilt instance has the same limit, not what was left of it.
    assert_engine_failure(&authz.check(&ask("bomb")), 1);
    assert_allowed(&authz.check(&ask("read_code")), 1);
}

#[test]
fn a_trap_is_one_line_and_the_instance_is_rebuilt_with_the_updates_applied_since() {
    let mut authz = hostile();
    assert_eq!(authz.apply(&[Update::RevokeToken("a".into()), Update::RevokeToken("b".into())]).unwrap(), 3);
    let detail = assert_engine_failure(&authz.check(&ask("trap")), 3);
    assert_eq!(detail, "the engine trapped: wasm `unreachable` instruction executed");
    // The rebuilt instance replayed both updates: the revision is still 3.
    assert_allowed(&authz.check(&ask("read_code")), 3);
    assert_eq!(authz.revision().unwrap(), 3);
}

#[test]
fn a_huge_output_is_cut_to_one_bounded_line() {
    let mut authz = hostile();
    let decision = authz.check(&ask("huge"));
    assert_eq!(decision.effect, Effect::Deny);
    let detail = decision.reasons[0].detail.as_deref().expect("the hostile guest's detail is passed on");
    assert!(!detail.contains('\n'));
    assert!(detail.len() <= MAX_DETAIL + '…'.len_utf8(), "{} bytes", detail.len());
    assert_allowed(&authz.check(&ask("read_code")), 1);
}

#[test]
fn a_permission_id_outside_the_names_table_fails_closed() {
    let mut authz = hostile();
    let detail = assert_engine_failure(&authz.check(&ask("bad-id")), 1);
    assert!(detail.contains("names table"), "{detail}");
    assert_allowed(&authz.check(&ask("read_code")), 1);
}

#[test]
fn one_failing_entry_of_a_batch_denies_only_itself() {
    let mut authz = hostile();
    let batch: Vec<Request> =
        ["read_code", "trap", "read_code", "loop", "read_code"].map(|p| Request::Permission(ask(p))).to_vec();
    let decisions = authz.check_batch(&batch);
    assert_eq!(decisions.len(), 5);
    for i in [0, 2, 4] {
        assert_allowed(&decisions[i], 1);
    }
    assert!(assert_engine_failure(&decisions[1], 1).contains("trapped"));
    assert!(assert_engine_failure(&decisions[3], 1).contains("deadline"));
}

#[test]
fn a_bundle_that_hangs_or_bombs_the_load_is_refused_with_one_line() {
    let host = EngineHost::with_limits(support::hostile_component(), limits()).unwrap();
    let Err(error) = host.load(b"loop") else { panic!("a hanging load must fail") };
    assert_eq!(
        error.to_string(),
        "cannot load the bundle: the engine ran past its deadline of 500 ms and was interrupted"
    );
    let bounded = EngineHost::with_limits(support::hostile_component(), memory_bound()).unwrap();
    let Err(error) = bounded.load(b"bomb") else { panic!("a memory bomb must fail") };
    assert!(error.to_string().starts_with("cannot load the bundle: the engine trapped: "), "{error}");
    let Err(error) = host.load(b"reject") else { panic!("a rejected bundle must fail") };
    assert_eq!(error.to_string(), "hostile guest: bundle rejected");
    // The host still loads a good bundle afterwards.
    assert_eq!(host.load(b"fine").unwrap().revision().unwrap(), 1);
}

#[test]
fn a_failed_bundle_replacement_keeps_the_running_policy() {
    let mut authz = hostile();
    authz.apply(&[Update::RevokeToken("a".into())]).unwrap();
    assert!(authz.replace_bundle(b"loop").is_err());
    assert_allowed(&authz.check(&ask("read_code")), 2);
}
