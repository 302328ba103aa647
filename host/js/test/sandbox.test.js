// The sandboxed authorizer against a hostile engine component (host/tests/hostile,
// built by the Rust sandbox tests into target/hostile.component.wasm, or
// $FINEGRAIN_HOSTILE_COMPONENT): an endless loop, a memory bomb, a trap and a
// huge output. Each is denied with `engine_failure` and a one-line reason, the
// host answers the next request, and memory stays within the instance's limit.
// A plain-JavaScript stand-in for the transpiled component (test/fake-engine)
// checks what needs no WebAssembly: a permission id outside the names table is
// denied with `engine_failure`, and a fresh instance reads its names again.
// Then the real engine: the sandbox decides every exported case as the
// in-thread Authorizer does.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";

import { Authorizer } from "../index.js";
import { EngineFailure, MAX_DETAIL, SandboxedAuthorizer, oneLine } from "../sandbox.js";
import { AT, caseFiles, hostDir, repoDir } from "./support.js";

const DEADLINE_MS = 100;
const LIMIT = 64 << 20;
const hostilePath = resolve(process.env.FINEGRAIN_HOSTILE_COMPONENT || join(repoDir, "target/hostile.component.wasm"));

/** The hostile component transpiled by jco into a temporary directory. */
function transpileHostile(out) {
  if (!existsSync(hostilePath)) {
    throw new Error(`the hostile component is not at ${hostilePath}: run \`cargo test -p finegrain-host --test sandbox\``);
  }
  const jcoDir = join(hostDir, "node_modules/@bytecodealliance/jco");
  const jco = join(jcoDir, JSON.parse(readFileSync(join(jcoDir, "package.json"), "utf8")).bin.jco);
  execFileSync(process.execPath, [jco, "transpile", hostilePath, "--out-dir", out, "--name", "finegrain",
    "--instantiation", "async", "--no-wasi-shim", "--quiet"]);
  return pathToFileURL(`${out}/`).href;
}

const ask = (permission) => ({ token: { name: "t" }, permission, at: 0 });

function failureDetail(d, revision = 1) {
  assert.equal(d.effect, "deny");
  assert.deepStrictEqual(d.reasons.map((r) => r.code), ["engine_failure"]);
  assert.equal(d.revision, revision);
  const { detail } = d.reasons[0];
  assert.ok(!detail.includes("\n") && !detail.includes("backtrace"), detail);
  return detail;
}

const allowed = (d, revision = 1) => d.effect === "allow" && d.revision === revision;

describe("a hostile engine in the sandbox", () => {
  let dir;
  let generated;
  const load = (bundle = "any", opts = {}) =>
    SandboxedAuthorizer.load(Buffer.from(bundle), {
      generated, memoryLimit: LIMIT, callDeadlineMs: DEADLINE_MS, loadDeadlineMs: 500, ...opts,
    });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "finegrain-hostile-"));
    generated = transpileHostile(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("interrupts an endless loop at its deadline and answers the next check", async () => {
    const authz = await load();
    const started = performance.now();
    const detail = failureDetail(await authz.check(ask("loop")));
    const took = performance.now() - started;
    assert.equal(detail, "the engine ran past its deadline of 100 ms and was interrupted");
    assert.ok(took >= DEADLINE_MS && took < DEADLINE_MS * 20, `${took} ms`);
    assert.ok(allowed(await authz.check(ask("read_code"))));
    await authz.close();
  });

  it("stops a memory bomb at the limit, and memory stays bounded", async () => {
    // A deadline long enough for the bomb to reach the limit: this is about memory.
    const authz = await load("any", { callDeadlineMs: 5000 });
    assert.match(failureDetail(await authz.check(ask("bomb"))), /^the engine trapped: /);
    const peakAfterOne = process.resourceUsage().maxRSS * 1024;
    for (let i = 0; i < 5; i++) {
      assert.match(failureDetail(await authz.check(ask("bomb"))), /^the engine trapped: /);
      assert.ok(allowed(await authz.check(ask("read_code"))));
    }
    const growth = process.resourceUsage().maxRSS * 1024 - peakAfterOne;
    assert.ok(growth < LIMIT, `five more bombs raised the peak by ${growth} bytes`);
    await authz.close();
  });

  it("reports a trap in one line, and the rebuilt instance keeps the updates", async () => {
    const authz = await load();
    assert.equal(await authz.apply([{ revoke_token: "a" }, { revoke_token: "b" }]), 3);
    assert.match(failureDetail(await authz.check(ask("trap")), 3), /^the engine trapped: /);
    assert.ok(allowed(await authz.check(ask("read_code")), 3));
    await authz.close();
  });

  it("cuts a huge output to one bounded line", async () => {
    const authz = await load();
    const { detail } = (await authz.check(ask("huge"))).reasons[0];
    assert.ok(!detail.includes("\n") && Buffer.byteLength(detail) <= MAX_DETAIL + 3, `${detail.length}`);
    assert.ok(allowed(await authz.check(ask("read_code"))));
    await authz.close();
  });

  it("denies only the failing entries of a batch", async () => {
    const authz = await load();
    const names = ["read_code", "trap", "read_code", "loop", "read_code"];
    const decisions = await authz.checkBatch(names.map((n) => ({ permission: ask(n) })));
    assert.deepStrictEqual(decisions.map((d) => allowed(d)), [true, false, true, false, true]);
    assert.match(failureDetail(decisions[1]), /trapped/);
    assert.match(failureDetail(decisions[3]), /deadline/);
    await authz.close();
  });

  it("interrupts a hanging load, then loads the next bundle", async () => {
    await assert.rejects(load("loop"), (err) => {
      assert.ok(err instanceof EngineFailure);
      assert.equal(err.message, "cannot load the bundle: the engine ran past its deadline of 500 ms and was interrupted");
      return true;
    });
    const authz = await load("fine");
    assert.equal(authz.revision(), 1);
    await authz.close();
  });

  it("denies a decision naming a permission id outside the names table, and answers the next check", async () => {
    const authz = await load();
    assert.equal(failureDetail(await authz.check(ask("bad-id"))), "the engine named a permission id outside its own names table");
    assert.ok(allowed(await authz.check(ask("read_code"))));
    await authz.close();
  });

  it("refuses a bad request as the in-thread host does, without a failure", async () => {
    const authz = await load();
    await assert.rejects(authz.check({ token: 42, permission: "x", at: 0 }), TypeError);
    assert.ok(allowed(await authz.check(ask("read_code"))));
    await authz.close();
  });
});

describe("a stand-in engine in the sandbox", () => {
  const generated = new URL("./fake-engine/", import.meta.url).href;
  const load = () => SandboxedAuthorizer.load(Buffer.from("any"), { generated, callDeadlineMs: 2000 });
  const request = (permission) => ({ token: { name: "t" }, permission, at: AT });

  it("names the ids through the instance's table and denies an id outside it", async () => {
    const authz = await load();
    assert.deepStrictEqual(await authz.permissionNames(), { raw: ["read_code", "push_code"], assignable: ["read_repository"] });
    const ok = await authz.check(request("read_code"));
    assert.deepStrictEqual([ok.effect, ok.required_permissions, ok.accepted_permissions], ["allow", ["read_code"], ["read_repository"]]);
    assert.deepStrictEqual(ok.reasons, [{ code: "allowed" }]);
    assert.equal(failureDetail(await authz.check(request("bad-id"))), "the engine named a permission id outside its own names table");
    const batch = await authz.checkBatch([{ permission: request("read_code") }, { permission: request("bad-id") }]);
    assert.deepStrictEqual(batch.map((d) => d.effect), ["allow", "deny"]);
    await authz.close();
  });

  it("after a trap, the fresh instance reads its names again and keeps the updates", async () => {
    const authz = await load();
    assert.equal(await authz.apply([{ revoke_token: "a" }]), 2);
    assert.match(failureDetail(await authz.check(request("trap")), 2), /^the engine trapped: /);
    const d = await authz.check(request("read_code"));
    assert.deepStrictEqual([d.effect, d.required_permissions, d.revision], ["allow", ["read_code"], 2]);
    assert.deepStrictEqual((await authz.permissionNames()).raw, ["read_code", "push_code"]);
    await authz.close();
  });

  it("describe gives details, bounded; a check gives none", async () => {
    const authz = await load();
    const d = await authz.describe({ permission: request("read_code") });
    assert.deepStrictEqual(d.reasons, [{ code: "allowed", detail: "fake engine: read_code allowed" }]);
    assert.ok(!("detail" in (await authz.check(request("read_code"))).reasons[0]));
    await authz.close();
  });
});

describe("oneLine", () => {
  it("keeps the first line and cuts it on a character boundary", () => {
    assert.equal(oneLine("a\nb"), "a");
    const long = "é".repeat(MAX_DETAIL); // two bytes each
    const cut = oneLine(long);
    assert.ok(cut.endsWith("…") && Buffer.byteLength(cut) <= MAX_DETAIL + 3);
    assert.ok(!cut.includes("\uFFFD"));
  });
});

describe("the real engine in the sandbox", () => {
  for (const file of caseFiles()) {
    it(`decides every case of ${file.stem}.cases.json as the in-thread host`, async () => {
      const cases = JSON.parse(readFileSync(file.cases, "utf8"));
      const bundle = readFileSync(file.bundle);
      const sandboxed = await SandboxedAuthorizer.load(bundle);
      const direct = await Authorizer.load(bundle);
      const requests = cases.map((c) => c.request);
      assert.deepStrictEqual(await sandboxed.checkBatch(requests), direct.checkBatch(requests));
      for (const c of cases.slice(0, 50)) {
        assert.deepStrictEqual(await sandboxed.decide(c.request), c.decision, c.name);
        assert.deepStrictEqual(await sandboxed.describe(c.request), direct.describe(c.request), c.name);
      }
      assert.deepStrictEqual(await sandboxed.permissionNames(), direct.permissionNames());
      await sandboxed.close();
    });
  }
});
