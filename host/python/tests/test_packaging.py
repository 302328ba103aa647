"""The wheel a user installs: built by scripts/python-wheel with the engine
component inside, installed into a fresh virtual environment (no checkout on the
path, wasmtime from the package's own dependency range), it runs the README's
installed-package example from an empty directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import PYTHON_HOST, REPO, bundle_for, case_files, component_path

EXAMPLE = PYTHON_HOST / "example_installed.py"


def run(args: list, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def test_the_wheel_carries_the_component_and_runs_the_readme_example_without_a_checkout(tmp_path: Path) -> None:
    component = component_path()
    run(["bash", REPO / "scripts" / "python-wheel", tmp_path / "dist", component], cwd=tmp_path)
    wheels = list((tmp_path / "dist").glob("finegrain_host-*-py3-none-any.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
        assert wheel.read("finegrain_host/finegrain.wasm") == component.read_bytes()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        requires = [
            l for l in wheel.read(metadata).decode().splitlines() if l.startswith("Requires-Dist:") and "extra ==" not in l
        ]
    assert "finegrain_host/py.typed" in names and "finegrain_host/authorizer.py" in names
    assert not any("tests/" in n or n.endswith(".pyc") for n in names), sorted(names)
    assert len(requires) == 1 and requires[0].startswith("Requires-Dist: wasmtime"), requires
    assert set(requires[0].removeprefix("Requires-Dist: wasmtime").split(",")) == {">=50.0.1", "<51"}, requires

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheels[0]], cwd=tmp_path)

    user = tmp_path / "user"  # a directory with nothing of the repository in it
    user.mkdir()
    shutil.copy(EXAMPLE, user / "example.py")
    acme = next(f for f in case_files() if f.name == "acme.cases.json")
    shutil.copy(bundle_for(acme), user / "acme.bundle")
    result = run([python, "-I", "example.py", "acme.bundle"], cwd=user, timeout=120)
    assert result.stdout == "allow allowed\n"
    where = run([python, "-I", "-c", "import finegrain_host; print(finegrain_host.__file__)"], cwd=user)
    assert str(venv) in where.stdout, where.stdout
