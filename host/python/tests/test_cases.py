"""Every exported scenario case through the Python host: the decision must meet
the case's expectation and equal, field for field, what the Rust host decided.

The exported decisions come from the `check` path: no reason has a detail.
`describe` and `explain` must give the same decision with every detail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from conftest import bundle_for, load_cases
from finegrain_host import Authorizer, Decision, EngineHost, Request

CASES = load_cases()
BY_FILE: Dict[Path, List[Dict[str, Any]]] = {}
for _file, _case in CASES:
    BY_FILE.setdefault(_file, []).append(_case)


def _id(item: Any) -> str:
    f, case = item
    return f"{f.name[: -len('.cases.json')]}: {case['name']}"


@pytest.fixture(scope="module")
def authorizers(host: EngineHost) -> Dict[Path, Authorizer]:
    return {f: host.load(bundle_for(f).read_bytes()) for f in BY_FILE}


def assert_same_decision(got: Decision, case: Dict[str, Any]) -> None:
    expected = case["decision"]
    # Field by field first, for a readable failure.
    assert got.effect.value == expected["effect"]
    assert [(r.code, r.detail) for r in got.reasons] == [(r["code"], r.get("detail")) for r in expected["reasons"]]
    assert list(got.required_permissions) == expected["required_permissions"]
    assert list(got.accepted_permissions) == expected["accepted_permissions"]
    assert (None if got.boundary is None else got.boundary.value) == expected["boundary"]
    assert got.namespace == expected["namespace"]
    assert got.revision == expected["revision"]
    # And as whole values, both ways.
    assert got == Decision.from_json(expected)
    assert got.to_json() == expected


def assert_has_details(got: Decision) -> None:
    """Every reason of a described decision has a one-line sentence."""
    for r in got.reasons:
        assert isinstance(r.detail, str) and r.detail and "\n" not in r.detail, r
        assert r.text == r.detail


def assert_meets(got: Decision, case: Dict[str, Any]) -> None:
    assert got.effect.value == case["expect"], f"{case['name']}: {got.effect.value} {list(got.codes)}"
    for code in case["reasons"]:
        assert got.has_reason(code), f"{case['name']}: {code} not in {list(got.codes)}"


@pytest.mark.parametrize("item", CASES, ids=[_id(c) for c in CASES])
def test_case_single_call(item: Any, authorizers: Dict[Path, Authorizer]) -> None:
    f, case = item
    request = Request.from_json(case["request"])
    got = authorizers[f].check_request(request)
    assert_meets(got, case)
    assert_same_decision(got, case)


@pytest.mark.parametrize("item", CASES, ids=[_id(c) for c in CASES])
def test_case_describe(item: Any, authorizers: Dict[Path, Authorizer]) -> None:
    f, case = item
    request = Request.from_json(case["request"])
    described = authorizers[f].describe(request)
    assert_has_details(described)
    # The same decision as `check` (effect, codes, permissions, …), details aside.
    assert_same_decision(described.without_details(), case)
    assert described.without_details() == authorizers[f].check_request(request)


@pytest.mark.parametrize("item", CASES, ids=[_id(c) for c in CASES])
def test_case_explain(item: Any, authorizers: Dict[Path, Authorizer]) -> None:
    f, case = item
    request = Request.from_json(case["request"])
    explanation = authorizers[f].explain(request)
    assert_has_details(explanation.decision)
    assert_same_decision(explanation.decision.without_details(), case)
    assert explanation.decision == authorizers[f].describe(request)
    assert explanation.steps and all(isinstance(s, str) and s for s in explanation.steps)


@pytest.mark.parametrize("fast", [True, False], ids=["accelerated", "stock-wasmtime-py"])
def test_batch(fast: bool, component_bytes: bytes) -> None:
    # One check-batch call per file; the stock variant runs wasmtime-py's own
    # value conversions, unmodified, as a cross-check of the accelerated ones.
    host = EngineHost(component_bytes, fast=fast) if not fast else EngineHost.shared(component_bytes)
    for f, cases in BY_FILE.items():
        with host.load(bundle_for(f).read_bytes()) as authz:
            got = authz.check_batch([Request.from_json(c["request"]) for c in cases])
            assert len(got) == len(cases)
            for decision, case in zip(got, cases, strict=True):
                assert_meets(decision, case)
                assert_same_decision(decision, case)


@pytest.mark.parametrize("item", CASES, ids=[_id(c) for c in CASES])
def test_request_json_round_trip(item: Any) -> None:
    _, case = item
    request = Request.from_json(case["request"])
    assert request.to_json() == case["request"]
    assert Request.from_json(json.dumps(case["request"])) == request
    assert type(request).from_json(case["request"]) == request
