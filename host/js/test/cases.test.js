// Every exported case through this host: each decision meets the case's
// expectation and equals, field for field, the decision of the Rust host.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it, before } from "node:test";

import { Authorizer } from "../index.js";
import { caseFiles } from "./support.js";

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
      });
    }

    it("check-batch returns the same decisions in order", () => {
      const decisions = authz.checkBatch(cases.map((c) => c.request));
      assert.deepStrictEqual(decisions, cases.map((c) => c.decision));
    });

    it("explain carries the same decisions, with steps", () => {
      for (const c of cases) {
        const e = authz.explain(c.request);
        assert.deepStrictEqual(e.decision, c.decision, c.name);
        assert.ok(e.steps.length > 0 && e.steps.every((s) => typeof s === "string"), c.name);
      }
    });

    it("decisions survive a JSON round trip unchanged (plain JSON values only)", () => {
      const decisions = authz.checkBatch(cases.map((c) => c.request));
      assert.deepStrictEqual(JSON.parse(JSON.stringify(decisions)), decisions);
    });
  });
}
