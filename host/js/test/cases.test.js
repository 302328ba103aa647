// Every exported case through this host: each decision meets the case's
// expectation and equals, field for field, the decision of the Rust host (the
// cases carry no reason detail, as the checks give none); `describe` and
// `explain` give the same decision with a detail on every reason.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it, before } from "node:test";

import { Authorizer } from "../index.js";
import { caseFiles } from "./support.js";

/** The decision as a check gives it: every reason without its detail. */
const withoutDetails = (d) => ({ ...d, reasons: d.reasons.map(({ code }) => ({ code })) });

function assertDetailed(d, name) {
  for (const r of d.reasons) {
    assert.ok(typeof r.detail === "string" && r.detail.length > 0, `${name}: ${r.code} has no detail`);
  }
}

for (const file of caseFiles()) {
  const cases = JSON.parse(readFileSync(file.cases, "utf8"));

  describe(`${file.stem}.cases.json`, () => {
    let authz;
    before(async () => {
      authz = await Authorizer.fromFile(file.bundle);
    });

    it("has cases", () => {
      assert.ok(Array.isArray(cases) && cases.length > 0);
    });

    for (const c of cases) {
      it(c.name, () => {
        const d = authz.decide(c.request);
        assert.equal(d.effect, c.expect, `effect; reasons: ${JSON.stringify(d.reasons)}`);
        const codes = d.reasons.map((r) => r.code);
        for (const code of c.reasons ?? []) assert.ok(codes.includes(code), `reason ${code} missing from ${codes}`);
        assert.deepStrictEqual(d, c.decision);
        assert.ok(d.reasons.every((r) => !("detail" in r)), "a check gives no detail");
      });
    }

    it("check-batch returns the same decisions in order", () => {
      const decisions = authz.checkBatch(cases.map((c) => c.request));
      assert.deepStrictEqual(decisions, cases.map((c) => c.decision));
    });

    it("describe gives the same decisions (effect, codes, permissions, boundary, namespace), with details", () => {
      for (const c of cases) {
        const d = authz.describe(c.request);
        assertDetailed(d, c.name);
        assert.deepStrictEqual(withoutDetails(d), c.decision, c.name);
      }
    });

    it("explain carries the described decisions, with steps", () => {
      for (const c of cases) {
        const e = authz.explain(c.request);
        assertDetailed(e.decision, c.name);
        assert.deepStrictEqual(withoutDetails(e.decision), c.decision, c.name);
        assert.deepStrictEqual(e.decision, authz.describe(c.request), c.name);
        assert.ok(e.steps.length > 0 && e.steps.every((s) => typeof s === "string"), c.name);
      }
    });

    it("decisions survive a JSON round trip unchanged (plain JSON values only)", () => {
      const decisions = authz.checkBatch(cases.map((c) => c.request));
      assert.deepStrictEqual(JSON.parse(JSON.stringify(decisions)), decisions);
    });
  });
}
