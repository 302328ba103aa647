"""example.py runs as documented and prints the decision."""

from __future__ import annotations

import subprocess
import sys

from conftest import PYTHON_HOST, bundle_for, case_files, component_path

EXAMPLE = PYTHON_HOST / "example.py"


def test_example_is_short_and_says_what_it_shows() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 12
    assert lines[0].startswith("# ")


def test_example_runs() -> None:
    acme = next(f for f in case_files() if f.name == "acme.cases.json")
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), str(component_path()), str(bundle_for(acme))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "allow allowed\n"
