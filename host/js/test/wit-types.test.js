// The public types are checked against the WIT, not kept in step by hand:
// every record field, enum case and variant case of wit/authz.wit has its
// counterpart in index.d.ts (snake case: record `http-request` field `ref-name`
// is `HttpRequest.ref_name`; enum case `token-revoked` is "token_revoked" in
// `ReasonCode`), nothing there is unknown to the WIT, and every method of the
// resource `authorizer` is one of `Authorizer` and `SandboxedAuthorizer` (in
// the declarations and at run time). jco's generated declarations, which the
// wrapper is written against, are checked against the same WIT.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

import { Authorizer } from "../index.js";
import { SandboxedAuthorizer } from "../sandbox.js";
import { hostDir, witPath } from "./support.js";
import { camel, compare, compareJco, literals, parseDts, parseWit } from "./wit-types.js";

const witText = readFileSync(witPath, "utf8");
const wit = parseWit(witText);
const indexDts = parseDts(readFileSync(join(hostDir, "index.d.ts"), "utf8"));
const sandboxDts = parseDts(readFileSync(join(hostDir, "sandbox.d.ts"), "utf8"));
const host = {
  ...indexDts,
  classes: new Map([...indexDts.classes, ...sandboxDts.classes]),
};
/** Codes the host adds on its own: a decision it could not get or cannot trust. */
const hostOnly = { ReasonCode: ["engine_failure"] };
const options = { hostOnly, classes: ["Authorizer", "SandboxedAuthorizer"] };

describe("the WIT as read", () => {
  it("is finegrain:authz@0.3.0 with its records, enums, variants and the authorizer", () => {
    assert.match(witText, /^package finegrain:authz@0\.3\.0;/m);
    for (const r of ["permission-request", "http-request", "reason", "decision", "permission-names", "new-token"]) {
      assert.ok(wit.records.has(r), r);
    }
    assert.deepEqual(wit.records.get("http-request").map((f) => f.name), ["token", "method", "path", "headers", "body", "owner", "at"]);
    assert.equal(wit.enums.get("reason-code").length, 18);
    assert.deepEqual([...wit.enums.keys()].sort(), ["boundary", "effect", "reason-code"]);
    assert.deepEqual([...wit.variants.keys()].sort(), ["git-service", "grant-access", "request", "token-kind", "token-ref", "update"]);
    assert.ok(wit.resources.get("authorizer").some((m) => m.name === "describe"));
  });
});

describe("index.d.ts and sandbox.d.ts against the WIT", () => {
  it("have every record field, enum case, variant case and method, and nothing more", () => {
    assert.deepEqual(compare(wit, host, options), []);
  });

  it("spell every reason-code case in snake case in ReasonCode, with the host's engine_failure", () => {
    const codes = literals(host, "ReasonCode");
    for (const c of wit.enums.get("reason-code")) assert.ok(codes.has(c.replaceAll("-", "_")), c);
    assert.ok(codes.has("engine_failure"));
    assert.ok(![...codes].some((c) => c.includes("-")), [...codes].join(" "));
  });

  it("HttpRequest has owner, optional; Reason.detail is optional", () => {
    assert.equal(host.interfaces.get("HttpRequest").get("owner")?.optional, true);
    assert.equal(host.interfaces.get("Reason").get("detail")?.optional, true);
  });

  it("fail when the WIT gains a field, a case or a method the JS side lacks", () => {
    const grown = witText
      .replace("owner: option<string>,", "owner: option<string>,\n        tenant: option<string>,")
      .replace("force-push-forbidden,", "force-push-forbidden,\n        token-stolen,")
      .replace("instance,\n    }", "instance,\n        robot(string),\n    }")
      .replace("revision: func() -> u64;", "revision: func() -> u64;\n        forget: func();");
    const problems = compare(parseWit(grown), host, options);
    assert.deepEqual(problems.sort(), [
      'enum reason-code: ReasonCode lacks "token_stolen"',
      "record http-request: HttpRequest has no field tenant",
      "resource authorizer: Authorizer has no method forget",
      "resource authorizer: SandboxedAuthorizer has no method forget",
      "variant grant-access: GrantAccess lacks { robot: … }",
    ]);
  });

  it("fail when the WIT loses a field or a case the JS side still has", () => {
    const shrunk = witText.replace("owner: option<string>,", "").replace("tag-protected,", "");
    assert.deepEqual(compare(parseWit(shrunk), host, options).sort(), [
      'enum reason-code: ReasonCode has "tag_protected", no case of the WIT enum',
      "record http-request: HttpRequest.owner is not a field of the WIT record",
    ]);
  });

  it("fail when an option field is neither optional nor nullable", () => {
    const strict = structuredClone(host);
    strict.interfaces.get("HttpRequest").set("owner", { optional: false, type: "string" });
    assert.deepEqual(compare(wit, strict, options), [
      "record http-request: HttpRequest.owner is option<string> but neither optional nor nullable",
    ]);
  });
});

describe("the classes at run time against the WIT", () => {
  for (const m of wit.resources.get("authorizer")) {
    it(`Authorizer and SandboxedAuthorizer have ${camel(m.name)}`, () => {
      const where = (cls) => (m.isStatic ? cls : cls.prototype);
      assert.equal(typeof where(Authorizer)[camel(m.name)], "function");
      assert.equal(typeof where(SandboxedAuthorizer)[camel(m.name)], "function");
    });
  }
});

describe("jco's declarations (generated/) against the WIT", () => {
  it("have every record field in order and every enum case", () => {
    const interfaces = join(hostDir, "generated", "interfaces");
    const jco = parseDts(
      ["finegrain-authz-types.d.ts", "finegrain-authz-updates.d.ts"]
        .map((f) => readFileSync(join(interfaces, f), "utf8"))
        .join("\n"),
    );
    assert.deepEqual(compareJco(wit, jco), [], "generated/ is not from a component of this WIT: rebuild the component, then npm run build");
    const authorize = parseDts(readFileSync(join(interfaces, "finegrain-authz-authorize.d.ts"), "utf8"));
    const methods = authorize.classes.get("Authorizer");
    for (const m of wit.resources.get("authorizer")) assert.ok(methods.has(camel(m.name)), m.name);
  });
});
