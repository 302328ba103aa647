// The wrapper around the engine: loading, errors, updates, token reports.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { Authorizer, FinegrainError } from "../index.js";
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
