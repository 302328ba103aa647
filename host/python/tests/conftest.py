"""Shared fixtures. Artifacts are found through environment variables:

FINEGRAIN_COMPONENT  the engine component (default <repo>/target/finegrain.wasm)
FINEGRAIN_CASES      a directory of <name>.cases.json + <name>.bundle, as written by
                     `finegrain test FILE --export DIR` (default <repo>/target/cases)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

HERE = Path(__file__).resolve().parent
PYTHON_HOST = HERE.parent  # host/python
REPO = PYTHON_HOST.parent.parent  # the repository root
sys.path.insert(0, str(PYTHON_HOST))

from finegrain_host import Authorizer, EngineHost  # noqa: E402


def component_path() -> Path:
    return Path(os.environ.get("FINEGRAIN_COMPONENT") or REPO / "target" / "finegrain.wasm")


def cases_dir() -> Path:
    return Path(os.environ.get("FINEGRAIN_CASES") or REPO / "target" / "cases")


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise pytest.UsageError(
            f"{what} not found at {path}. Build it (see host/python/README.md) or point "
            "FINEGRAIN_COMPONENT / FINEGRAIN_CASES at it."
        )
    return path


def case_files() -> List[Path]:
    directory = _require(cases_dir(), "the exported cases directory")
    files = sorted(directory.glob("*.cases.json"))
    if not files:
        raise pytest.UsageError(f"no *.cases.json in {directory}")
    return files


def bundle_for(cases_file: Path) -> Path:
    stem = cases_file.name[: -len(".cases.json")]
    return _require(cases_file.with_name(stem + ".bundle"), "the bundle beside " + cases_file.name)


def load_cases() -> List[Tuple[Path, Dict[str, Any]]]:
    """Every case of every cases file, with the file it came from."""
    out = []
    for f in case_files():
        for case in json.loads(f.read_text(encoding="utf-8")):
            out.append((f, case))
    return out


@pytest.fixture(scope="session")
def component_bytes() -> bytes:
    return _require(component_path(), "the engine component").read_bytes()


@pytest.fixture(scope="session")
def host(component_bytes: bytes) -> EngineHost:
    """The component compiled once for the whole session."""
    return EngineHost.shared(component_bytes)


@pytest.fixture(scope="session")
def acme_bundle() -> bytes:
    for f in case_files():
        if f.name == "acme.cases.json":
            return bundle_for(f).read_bytes()
    raise pytest.UsageError(f"acme.cases.json not found in {cases_dir()}")


@pytest.fixture
def acme(host: EngineHost, acme_bundle: bytes) -> Authorizer:
    """A fresh Acme policy for each test (tests may apply updates)."""
    with host.load(acme_bundle) as authz:
        yield authz
