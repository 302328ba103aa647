// Shows the JS host deciding one HTTP request of the Acme example: node example.mjs [BUNDLE]
import { Authorizer } from "./index.js";
const bundle = process.argv[2] ?? new URL("../../target/cases/acme.bundle", import.meta.url);
const authz = await Authorizer.fromFile(bundle);
const decision = authz.checkHttp({
  method: "GET",
  path: "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches",
  headers: [["PRIVATE-TOKEN", "glpat-alice-ci-secret"]],
  at: Date.parse("2026-11-21T12:00:00Z") / 1000,
});
console.log(decision.effect, decision.reasons.map((r) => r.code).join(" "));
