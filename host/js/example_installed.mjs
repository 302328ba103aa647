// With the package installed (npm install finegrain-host-*.tgz), no Rust: node example_installed.mjs acme.bundle
import { Authorizer } from "finegrain-host";
const authz = await Authorizer.fromFile(process.argv[2]);
const decision = authz.checkHttp({
  method: "GET",
  path: "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches",
  headers: [["PRIVATE-TOKEN", "glpat-alice-ci-secret"]],
  at: Date.parse("2026-11-21T12:00:00Z") / 1000,
});
console.log(decision.effect, decision.reasons.map((r) => r.code).join(" "));
