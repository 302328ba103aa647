// The wrapper around the engine: loading, errors, updates, token reports.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { Authorizer, FinegrainError } from "../index.js";
import { instantiate as fakeEngine } from "./fake-engine/finegrain.js";
import { acmeBundle, AT } from "./support.js";

const bundle = () => readFileSync(acmeBundle);
const branches = (token) => ({
  token,
  method: "GET",
  path: "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches",
  headers: [],
  at: AT,
});

describe("load", () => {
  it("loads a bundle at its revision", async () => {
    const authz = await Authorizer.load(bundle());
    assert.equal(authz.revision(), 0);
  });

  it("takes an ArrayBuffer and a Buffer slice as well", async () => {
    const bytes = bundle();
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    assert.equal((await Authorizer.load(copy)).revision(), 0);
    const padded = Buffer.concat([Buffer.from("junk"), bytes]);
    assert.equal((await Authorizer.load(padded.subarray(4))).revision(), 0);
  });

  it("a truncated bundle throws with the engine's message", async () => {
    const bytes = bundle();
    await assert.rejects(Authorizer.load(bytes.subarray(0, bytes.length - 1)), (err) => {
      assert.ok(err instanceof FinegrainError);
      assert.equal(err.message, "bundle content digest does not match: the file is corrupt or truncated");
      return true;
    });
    await assert.rejects(Authorizer.load(bytes.subarray(0, 10)), {
      name: "FinegrainError",
      message: "bundle is truncated: 10 bytes, the header alone needs 44",
    });
  });

  it("refuses what is not a bundle", async () => {
    await assert.rejects(Authorizer.load(new Uint8Array(64)), { name: "FinegrainError", message: /bad magic/ });
    await assert.rejects(Authorizer.load("acme.bundle"), TypeError);
  });
});

describe("apply", () => {
  it("revoke bumps the revision and denies with token_revoked", async () => {
    const authz = await Authorizer.load(bundle());
    assert.equal(authz.checkHttp(branches({ name: "alice-ci" })).effect, "allow");
    assert.equal(authz.apply([{ revoke_token: "alice-ci" }]), 1);
    assert.equal(authz.revision(), 1);
    const d = authz.checkHttp(branches({ secret: "glpat-alice-ci-secret" }));
    assert.equal(d.effect, "deny");
    assert.ok(d.reasons.some((r) => r.code === "token_revoked"), JSON.stringify(d.reasons));
    assert.equal(d.revision, 1);
  });

  it("a failed apply throws the engine's message and changes nothing", async () => {
    const authz = await Authorizer.load(bundle());
    assert.throws(() => authz.apply([{ revoke_token: "alice-ci" }, { revoke_token: "nobody" }]), {
      name: "FinegrainError",
      message: /nobody/,
    });
    assert.equal(authz.revision(), 0);
    assert.equal(authz.checkHttp(branches({ name: "alice-ci" })).effect, "allow");
  });

  it("adds a token by digest, then a membership, then removes it", async () => {
    const authz = await Authorizer.load(bundle());
    const rev = authz.apply([
      {
        add_token: {
          name: "erin-new",
          user: "erin",
          digest: Authorizer.digest("glpat-erin-new"),
          kind: { fine_grained: [{ access: { selected_memberships: ["acme/platform"] }, permissions: ["read_branch"] }] },
          expires: null,
        },
      },
    ]);
    assert.equal(rev, 1);
    // erin is no member of acme/platform/api (private): the user lacks the ability.
    const before = authz.checkHttp(branches({ secret: "glpat-erin-new" }));
    assert.equal(before.effect, "deny", JSON.stringify(before));
    authz.apply([{ add_membership: { user: "erin", namespace: "acme/platform", role: "developer", expires: null } }]);
    assert.equal(authz.checkHttp(branches({ secret: "glpat-erin-new" })).effect, "allow");
    assert.equal(authz.apply([{ remove_membership: ["erin", "acme/platform"] }]), 3);
    assert.equal(authz.checkHttp(branches({ secret: "glpat-erin-new" })).effect, "deny");
  });

  it("takes a legacy token with a hex digest", async () => {
    const authz = await Authorizer.load(bundle());
    const hex = Buffer.from(Authorizer.digest("glpat-dave-read")).toString("hex");
    authz.apply([{ add_token: { name: "dave-read", user: "dave", digest: hex, kind: { legacy: ["read_api"] } } }]);
    assert.equal(authz.checkHttp(branches({ secret: "glpat-dave-read" })).effect, "allow");
  });

  it("authorizers are independent", async () => {
    const a = await Authorizer.load(bundle());
    const b = await Authorizer.load(bundle());
    a.apply([{ revoke_token: "alice-ci" }]);
    assert.equal(b.revision(), 0);
    assert.equal(b.checkHttp(branches({ name: "alice-ci" })).effect, "allow");
  });
});

describe("inspectToken", () => {
  it("returns the token's access entries", async () => {
    const authz = await Authorizer.load(bundle());
    const report = authz.inspectToken({ name: "alice-ci" }, AT);
    assert.equal(report.name, "alice-ci");
    assert.equal(report.user, "alice");
    assert.equal(report.kind, "fine_grained");
    assert.equal(report.status, "active");
    assert.equal(typeof report.expires, "number");
    assert.deepEqual(report.scopes, []);
    assert.ok(report.access.length > 0);
    for (const e of report.access) {
      assert.ok(["project", "group", "user", "instance"].includes(e.boundary));
      assert.ok(e.namespace === null || typeof e.namespace === "string");
      assert.ok(Array.isArray(e.permissions) && e.permissions.length > 0);
    }
    assert.ok(report.access.some((e) => e.namespace?.startsWith("acme/platform") && e.permissions.includes("read_branch")));
  });

  it("reports a legacy token's scopes and a revoked status", async () => {
    const authz = await Authorizer.load(bundle());
    const report = authz.inspectToken({ secret: "glpat-alice-gone" }, AT);
    assert.equal(report.kind, "legacy");
    assert.equal(report.status, "revoked");
    assert.deepEqual(report.scopes, ["api"]);
    assert.equal(report.expires, null);
  });

  it("an unknown token throws the engine's message", async () => {
    const authz = await Authorizer.load(bundle());
    assert.throws(() => authz.inspectToken({ name: "nobody" }, AT), { name: "FinegrainError", message: /token/ });
  });
});

describe("requests", () => {
  it("the three shapes and a batch agree", async () => {
    const authz = await Authorizer.load(bundle());
    const git = { token: { name: "alice-ci" }, project: "acme/platform/api", service: "upload_pack", at: AT };
    const push = {
      token: { name: "dave-api" },
      permission: "push_code",
      namespace: "acme/platform/api",
      ref_name: "refs/heads/main",
      force: true,
      at: AT,
    };
    const http = branches(null);
    http.headers = [["PRIVATE-TOKEN", "glpat-alice-ci-secret"]];
    const single = [authz.checkGit(git), authz.check(push), authz.checkHttp(http)];
    assert.deepStrictEqual(authz.checkBatch([{ git }, { permission: push }, { http }]), single);
    assert.deepEqual(single.map((d) => d.effect), ["allow", "deny", "allow"]);
    assert.ok(single[1].reasons.some((r) => r.code === "force_push_forbidden"));
  });

  it("accepts a bigint or a Date as the time", async () => {
    const authz = await Authorizer.load(bundle());
    const d = authz.checkHttp(branches({ name: "alice-ci" }));
    assert.deepStrictEqual(authz.checkHttp({ ...branches({ name: "alice-ci" }), at: BigInt(AT) }), d);
    assert.deepStrictEqual(authz.checkHttp({ ...branches({ name: "alice-ci" }), at: new Date(AT * 1000) }), d);
  });

  it("rejects malformed input before it reaches the engine, and goes on working", async () => {
    const authz = await Authorizer.load(bundle());
    assert.throws(() => authz.checkHttp(branches({ password: "x" })), TypeError);
    assert.throws(() => authz.checkHttp({ ...branches(null), at: 1.5 }), TypeError);
    assert.throws(() => authz.checkBatch([{ ftp: {} }]), TypeError);
    assert.throws(() => authz.checkGit({ token: { name: "a" }, project: "p", service: "push", at: AT }), TypeError);
    assert.throws(() => authz.apply([{ revoke_token: 7 }]), TypeError);
    assert.equal(authz.revision(), 0);
    assert.equal(authz.checkHttp(branches({ name: "alice-ci" })).effect, "allow");
  });

  it("dispose frees the engine's copy", async () => {
    const authz = await Authorizer.load(bundle());
    authz.dispose();
    assert.throws(() => authz.revision(), /disposed/);
  });
});

describe("permission names", () => {
  it("names the ids of a decision: a known request needs read_branch", async () => {
    const authz = await Authorizer.load(bundle());
    const d = authz.checkHttp(branches({ name: "alice-ci" }));
    assert.deepStrictEqual(d.required_permissions, ["read_branch"]);
    assert.deepStrictEqual(d.accepted_permissions, ["read_branch"]);
    const push = authz.check({ token: { name: "dave-api" }, permission: "push_code", namespace: "acme/platform/api",
      ref_name: "refs/heads/main", at: AT });
    assert.deepStrictEqual(push.required_permissions, ["push_code"]);
    assert.ok(push.accepted_permissions.length > 0 && push.accepted_permissions.every((p) => typeof p === "string"));
    assert.deepStrictEqual([...push.accepted_permissions].sort(), push.accepted_permissions, "in name order");
  });

  it("permissionNames gives the table, read once: a copy, the same after apply", async () => {
    const authz = await Authorizer.load(bundle());
    const names = authz.permissionNames();
    assert.ok(names.raw.includes("read_branch") && names.raw.includes("push_code"));
    assert.ok(names.assignable.includes("read_branch"));
    names.raw.length = 0; // a copy: the authorizer's table is untouched
    assert.ok(authz.permissionNames().raw.includes("read_branch"));
    authz.apply([{ revoke_token: "alice-ci" }]);
    assert.deepStrictEqual(authz.permissionNames(), (await Authorizer.load(bundle())).permissionNames());
  });

  it("an id outside the names table fails closed with engine_failure, for that decision only", async () => {
    const root = await fakeEngine();
    const authz = new Authorizer(root.authorize.Authorizer.load(new Uint8Array()));
    const bad = { token: { name: "t" }, permission: "bad-id", at: AT };
    const good = { token: { name: "t" }, permission: "read_code", at: AT };
    const failed = {
      effect: "deny",
      reasons: [{ code: "engine_failure", detail: "the engine named a permission id outside its own names table" }],
      required_permissions: [],
      accepted_permissions: [],
      boundary: null,
      namespace: null,
      revision: 1,
    };
    assert.deepStrictEqual(authz.check(bad), failed);
    assert.deepStrictEqual(authz.decide({ permission: bad }), failed);
    assert.deepStrictEqual(authz.describe({ permission: bad }), failed);
    assert.deepStrictEqual(authz.explain({ permission: bad }), { decision: failed, steps: [failed.reasons[0].detail] });
    const ok = authz.check(good);
    assert.equal(ok.effect, "allow");
    assert.deepStrictEqual(ok.required_permissions, ["read_code"]);
    assert.deepStrictEqual(ok.accepted_permissions, ["read_repository"]);
    const batch = authz.checkBatch([{ permission: good }, { permission: bad }, { permission: good }]);
    assert.deepStrictEqual(batch.map((d) => d.effect), ["allow", "deny", "allow"]);
    assert.deepStrictEqual(batch[1], failed);
    // The revision of a failure is the last one the engine reported.
    assert.equal(authz.apply([{ revoke_token: "a" }]), 2);
    assert.equal(authz.check(bad).revision, 2);
  });
});

describe("describe", () => {
  it("gives the check's decision with every reason's detail; the check gives none", async () => {
    const authz = await Authorizer.load(bundle());
    const request = { http: branches({ name: "erin-none" }) };
    const checked = authz.decide(request);
    const described = authz.describe(request);
    assert.equal(checked.effect, "deny");
    assert.ok(checked.reasons.every((r) => !("detail" in r)), JSON.stringify(checked.reasons));
    assert.ok(described.reasons.every((r) => typeof r.detail === "string" && r.detail.length > 0));
    assert.deepStrictEqual({ ...described, reasons: described.reasons.map(({ code }) => ({ code })) }, checked);
    assert.ok(!JSON.stringify(described).includes("glpat-"), "no secret in a detail");
  });

  it("spells reason codes in snake case, as the JSON and scenario files do", async () => {
    const authz = await Authorizer.load(bundle());
    authz.apply([{ revoke_token: "alice-ci" }]);
    const d = authz.describe({ http: branches({ name: "alice-ci" }) });
    assert.deepStrictEqual(d.reasons.map((r) => r.code), ["token_revoked"]);
    assert.match(d.reasons[0].detail, /revoked/);
  });

  it("rejects a malformed request as the checks do", async () => {
    const authz = await Authorizer.load(bundle());
    assert.throws(() => authz.describe({ ftp: {} }), TypeError);
  });
});

describe("owner", () => {
  it("passes through to the engine's http-request, absent when null or missing", async () => {
    const root = await fakeEngine();
    const Fake = root.authorize.Authorizer;
    const authz = new Authorizer(Fake.load(new Uint8Array()));
    Fake.requests.length = 0;
    authz.checkHttp({ method: "GET", path: "/api/v4/runners/7", owner: "acme/platform", at: AT });
    authz.checkHttp({ method: "GET", path: "/api/v4/runners/7", owner: null, at: AT });
    authz.checkHttp({ method: "GET", path: "/api/v4/runners/7", at: AT });
    authz.checkBatch([{ http: { method: "GET", path: "/api/v4/runners/7", owner: "42", at: AT } }]);
    authz.describe({ http: { method: "GET", path: "/api/v4/runners/7", owner: "acme", at: AT } });
    assert.deepStrictEqual(Fake.requests.map((r) => r.owner ?? r.val?.owner), ["acme/platform", undefined, undefined, "42", "acme"]);
    assert.ok(!("owner" in Fake.requests[2]) || Fake.requests[2].owner === undefined);
  });

  it("must be a string", async () => {
    const authz = await Authorizer.load(bundle());
    assert.throws(() => authz.checkHttp({ ...branches({ name: "alice-ci" }), owner: 7 }), TypeError);
  });

  it("is ignored by a route that names its namespace", async () => {
    const authz = await Authorizer.load(bundle());
    const d = authz.checkHttp(branches({ name: "alice-ci" }));
    assert.deepStrictEqual(authz.checkHttp({ ...branches({ name: "alice-ci" }), owner: "acme/other" }), d);
  });

  it("an object-addressed route with an owner is decided, not refused", async () => {
    const authz = await Authorizer.load(bundle());
    const runner = { token: { name: "alice-ci" }, method: "GET", path: "/api/v4/runners/7", headers: [], at: AT };
    for (const owner of [undefined, "acme/platform"]) {
      const d = authz.describe({ http: { ...runner, owner } });
      assert.ok(d.reasons.length > 0 && d.reasons.every((r) => typeof r.detail === "string"), JSON.stringify(d));
      assert.ok(d.required_permissions.every((p) => typeof p === "string"));
    }
  });
});
