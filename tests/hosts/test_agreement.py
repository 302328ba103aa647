"""The Rust, Python and JavaScript hosts give the same decisions.

Every case of every exported scenario file (target/cases/*.cases.json, written by
`finegrain test … --export target/cases`, which also records the Rust host's
decision) is decided again by the Python host and by the JavaScript host
(`host/js/replay.mjs`); the three decisions must be equal as JSON: effect,
reason codes, required and accepted permissions, boundary, namespace and
revision. The same holds for the described decisions (`describe`), whose reasons
carry their details too.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "host" / "python"))

from finegrain_host import Authorizer, Request  # noqa: E402

COMPONENT = Path(os.environ.get("FINEGRAIN_COMPONENT", REPO / "target" / "finegrain.wasm"))
CASES = Path(os.environ.get("FINEGRAIN_CASES", REPO / "target" / "cases"))
CASE_FILES = sorted(CASES.glob("*.cases.json"))


def test_cases_were_exported():
    names = {p.name for p in CASE_FILES}
    assert "acme.cases.json" in names, f"run `finegrain test examples/*.yaml --export {CASES}` first; found {names}"
    assert len(CASE_FILES) >= 4, names


@pytest.mark.parametrize("cases_file", CASE_FILES, ids=[p.name.removesuffix(".cases.json") for p in CASE_FILES])
def test_rust_python_and_javascript_agree(cases_file: Path):
    bundle = cases_file.with_name(cases_file.name.removesuffix(".cases.json") + ".bundle")
    cases = json.loads(cases_file.read_text())
    rust = [{"decision": case["decision"], "described": case["described"]} for case in cases]

    authz = Authorizer.from_files(COMPONENT, bundle)
    requests = [Request.from_json(case["request"]) for case in cases]
    python = [
        {"decision": decision.to_json(), "described": authz.describe(request).to_json()}
        for request, decision in zip(requests, authz.check_batch(requests))
    ]

    replay = subprocess.run(
        ["node", str(REPO / "host" / "js" / "replay.mjs"), str(cases_file), str(bundle)],
        capture_output=True, text=True, check=True, env={**os.environ, "FINEGRAIN_COMPONENT": str(COMPONENT)},
    )
    javascript = json.loads(replay.stdout)

    assert len(rust) == len(python) == len(javascript) == len(cases)
    for case, r, p, j in zip(cases, rust, python, javascript):
        assert p == r, f"{cases_file.name}: {case['name']}: Python differs from Rust"
        assert j == r, f"{cases_file.name}: {case['name']}: JavaScript differs from Rust"
