# With the wheel installed (pip install finegrain_host-*.whl), no Rust: python example_installed.py acme.bundle
import sys
from finegrain_host import HttpRequest, load_bundle
authz = load_bundle(sys.argv[1])  # on the engine component that ships inside the wheel
request = HttpRequest(method="GET", path="/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches",
                      headers=[("PRIVATE-TOKEN", "glpat-alice-ci-secret")], at=1795262400)  # 2026-11-21T12:00Z
decision = authz.check_http(request)
print(decision.effect, *decision.codes)
