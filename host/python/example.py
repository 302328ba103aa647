# Checks one HTTP request against the Acme policy: python example.py [finegrain.wasm acme.bundle]
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))  # runs from a checkout, no install needed
from finegrain_host import Authorizer, HttpRequest
target = Path(__file__).resolve().parents[2] / "target"
component, bundle = sys.argv[1:3] if len(sys.argv) == 3 else (target / "finegrain.wasm", target / "cases" / "acme.bundle")
authz = Authorizer.from_files(component, bundle)
request = HttpRequest(method="GET", path="/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches",
                      headers=[("PRIVATE-TOKEN", "glpat-alice-ci-secret")], at=1795262400)  # 2026-11-21T12:00Z
decision = authz.check_http(request)
print(decision.effect, *decision.codes)
