"""Per-call cost of `check` and per-request cost of `check_batch` (1000 requests),
and of `describe` (the same decision with its details).

    python bench.py [finegrain.wasm acme.bundle]

Defaults: $FINEGRAIN_COMPONENT or <repo>/target/finegrain.wasm, and acme.bundle in
$FINEGRAIN_CASES or <repo>/target/cases. Also runs wasmtime-py's stock value
conversions (fast=False) for comparison.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from finegrain_host import EngineHost, GitRequest, HttpRequest, PermissionRequest, TokenRef  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
AT = 1795262400  # 2026-11-21T12:00:00Z
N = 1000


def paths():
    if len(sys.argv) == 3:
        return Path(sys.argv[1]), Path(sys.argv[2])
    component = Path(os.environ.get("FINEGRAIN_COMPONENT") or REPO / "target" / "finegrain.wasm")
    cases = Path(os.environ.get("FINEGRAIN_CASES") or REPO / "target" / "cases")
    return component, cases / "acme.bundle"


def per_item(fn, count):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) / count * 1e6


def main():
    component_path, bundle_path = paths()
    component, bundle = component_path.read_bytes(), bundle_path.read_bytes()
    push = PermissionRequest(token=TokenRef.name("dave-api"), permission="push_code",
                             namespace="acme/platform/api", ref_name="refs/heads/main", at=AT)
    mix = [
        push,
        HttpRequest(method="GET", path="/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches",
                    headers=[("PRIVATE-TOKEN", "glpat-alice-ci-secret")], at=AT),
        GitRequest(token=TokenRef.name("alice-ci"), project="acme/platform/api", at=AT),
        PermissionRequest(token=TokenRef.name("alice-push"), permission="read_push_rule",
                          namespace="acme/platform/api", at=AT),
    ]
    batch_same = [push] * N
    batch_mix = (mix * (N // len(mix) + 1))[:N]

    start = time.perf_counter()
    host = EngineHost(component)
    print(f"compile component      {(time.perf_counter() - start) * 1e3:8.1f} ms")
    for fast in (True, False):
        label = "accelerated" if fast else "stock wasmtime-py"
        if not fast:
            host = EngineHost(component, engine=host.engine, fast=False)
        start = time.perf_counter()
        authz = host.load(bundle)
        print(f"[{label}]")
        print(f"  load bundle ({len(bundle) // 1024} KiB) {(time.perf_counter() - start) * 1e3:8.1f} ms")
        for _ in range(50):  # warm up
            authz.check(push)
        check = per_item(lambda: [authz.check(push) for _ in range(N)], N)
        batch = per_item(lambda: authz.check_batch(batch_same), N)
        mixed = per_item(lambda: authz.check_batch(batch_mix), N)
        revision = per_item(lambda: [authz.revision() for _ in range(N)], N)
        describe = per_item(lambda: [authz.describe(push) for _ in range(N)], N)
        print(f"  check, one call each   {check:8.1f} µs/call")
        print(f"  check_batch of {N}    {batch:8.1f} µs/request  (mixed kinds: {mixed:.1f})")
        print(f"  revision (no payload)  {revision:8.1f} µs/call")
        print(f"  describe (with details){describe:8.1f} µs/call")
        authz.close()


if __name__ == "__main__":
    main()
