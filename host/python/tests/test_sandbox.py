"""The Python host against a hostile engine component (host/tests/hostile, built
by the Rust sandbox tests into target/hostile.component.wasm, or
$FINEGRAIN_HOSTILE_COMPONENT): an endless loop, a memory bomb, a trap, a huge
output and a permission id outside the names table. Each is denied with
``engine_failure`` and a one-line reason (or cut to one bounded line), the host
answers the next request, and memory stays within the instance's limit."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest

from conftest import REPO
from finegrain_host import EngineHost, PermissionRequest, RevokeToken, TokenRef
from finegrain_host.authorizer import MAX_DETAIL, TICK
from finegrain_host.errors import EngineFailure

DEADLINE = 0.1


@pytest.fixture(scope="module")
def hostile_host() -> EngineHost:
    path = Path(os.environ.get("FINEGRAIN_HOSTILE_COMPONENT") or REPO / "target" / "hostile.component.wasm")
    if not path.exists():
        raise pytest.UsageError(f"the hostile component is not at {path}: run `cargo test -p finegrain-host --test sandbox`")
    return EngineHost(path.read_bytes(), memory_limit=64 << 20, call_deadline=DEADLINE, load_deadline=0.5)


def ask(permission: str) -> PermissionRequest:
    return PermissionRequest(token=TokenRef.name("t"), permission=permission, at=0)


def failure_detail(decision, revision: int = 1) -> str:
    assert decision.effect.value == "deny"
    assert decision.codes == ("engine_failure",)
    assert decision.revision == revision
    detail = decision.reasons[0].detail
    assert "\n" not in detail and "backtrace" not in detail
    return detail


def allowed(decision, revision: int = 1) -> bool:
    return decision.effect.value == "allow" and decision.revision == revision


def test_an_endless_loop_is_interrupted_and_the_next_check_is_answered(hostile_host: EngineHost) -> None:
    authz = hostile_host.load(b"any")
    started = time.monotonic()
    detail = failure_detail(authz.check(ask("loop")))
    took = time.monotonic() - started
    assert detail == "the engine ran past its deadline of 100 ms and was interrupted"
    # At least the deadline less one tick (the first tick may come at once);
    # generous above: the point is that it returns.
    assert DEADLINE - TICK <= took < DEADLINE * 20
    assert allowed(authz.check(ask("read_code")))


def test_a_memory_bomb_is_stopped_by_the_limit_and_memory_stays_bounded(hostile_host: EngineHost) -> None:
    authz = hostile_host.load(b"any")
    failure_detail(authz.check(ask("bomb")))
    peak_after_one = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(5):
        assert failure_detail(authz.check(ask("bomb"))).startswith("the engine trapped: ")
        assert allowed(authz.check(ask("read_code")))
    # Five more bombs did not raise the peak by more than one instance's limit.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert (peak - peak_after_one) * 1024 < 64 << 20


def test_a_trap_is_one_line_and_the_rebuilt_instance_keeps_the_updates(hostile_host: EngineHost) -> None:
    authz = hostile_host.load(b"any")
    assert authz.apply([RevokeToken("a"), RevokeToken("b")]) == 3
    detail = failure_detail(authz.check(ask("trap")), revision=3)
    assert detail.startswith("the engine trapped: "), detail
    assert allowed(authz.check(ask("read_code")), revision=3)


def test_a_huge_output_is_cut_to_one_bounded_line(hostile_host: EngineHost) -> None:
    authz = hostile_host.load(b"any")
    decision = authz.check(ask("huge"))
    detail = decision.reasons[0].detail
    assert "\n" not in detail and len(detail.encode()) <= MAX_DETAIL + 3
    assert allowed(authz.check(ask("read_code")))


def test_one_failing_entry_of_a_batch_denies_only_itself(hostile_host: EngineHost) -> None:
    authz = hostile_host.load(b"any")
    names = ["read_code", "trap", "read_code", "loop", "read_code"]
    decisions = authz.check_batch([ask(n) for n in names])
    assert [allowed(d) for d in decisions] == [True, False, True, False, True]
    assert "trapped" in failure_detail(decisions[1])
    assert "deadline" in failure_detail(decisions[3])


def test_a_hanging_load_is_interrupted(hostile_host: EngineHost) -> None:
    with pytest.raises(EngineFailure, match="^cannot load the bundle: the engine ran past its deadline of 500 ms"):
        hostile_host.load(b"loop")
    assert hostile_host.load(b"fine").revision() == 1


def test_a_permission_id_outside_the_names_table_fails_closed(hostile_host: EngineHost) -> None:
    authz = hostile_host.load(b"any")
    assert authz.permission_names().raw == ("read_code",)
    # The guest allows, naming raw permission id 65535: the host cannot trust it.
    for decision in (authz.check(ask("bad-id")), authz.describe(ask("bad-id"))):
        detail = failure_detail(decision)
        assert detail == "the engine answered a raw permission id 65535, outside its names table of 1"
    assert "outside" in authz.explain(ask("bad-id")).decision.reasons[0].detail
    assert allowed(authz.check(ask("read_code")))
    decisions = authz.check_batch([ask("read_code"), ask("bad-id"), ask("read_code")])
    assert [allowed(d) for d in decisions] == [True, False, True]
    assert "names table" in failure_detail(decisions[1])
