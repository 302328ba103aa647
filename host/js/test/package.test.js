// The npm package a user installs: `npm pack` of this directory (after
// `npm run build`) holds the wrapper, its types and the transpiled component;
// installed from the tarball into an empty directory it runs the README's
// installed-package example with nothing of the repository around it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";

import { acmeBundle, hostDir } from "./support.js";

const scratch = mkdtempSync(join(tmpdir(), "finegrain-npm-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const npm = (args, cwd) =>
  execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8" });

it("npm pack includes the generated component and types; the tarball installs and runs the example", () => {
  const [packed] = JSON.parse(npm(["pack", "--json", "--pack-destination", scratch], hostDir));
  const files = packed.files.map((f) => f.path).sort();
  const wanted = ["package.json", "index.js", "index.d.ts", "README.md", "generated/finegrain.js", "generated/finegrain.d.ts",
    "sandbox.js", "sandbox.d.ts", "sandbox-worker.js", "wasm-limits.js"];
  for (const needed of wanted) {
    assert.ok(files.includes(needed), `${needed} missing from ${files.join(", ")}`);
  }
  assert.ok(files.some((f) => /^generated\/finegrain\.core\d*\.wasm$/.test(f)), files.join(", "));
  assert.ok(!files.some((f) => f.startsWith("test/") || f.startsWith("node_modules/")), files.join(", "));
  const manifest = JSON.parse(readFileSync(join(hostDir, "package.json"), "utf8"));
  assert.equal(manifest.private, undefined);
  assert.equal(Object.keys(manifest.dependencies ?? {}).length, 0);

  const user = join(scratch, "user");
  execFileSync("mkdir", ["-p", user]);
  writeFileSync(join(user, "package.json"), JSON.stringify({ name: "user", private: true, type: "module" }));
  npm(["install", join(scratch, packed.filename)], user);
  copyFileSync(join(hostDir, "example_installed.mjs"), join(user, "example.mjs"));
  copyFileSync(acmeBundle, join(user, "acme.bundle"));
  const output = execFileSync(process.execPath, ["example.mjs", "acme.bundle"], { cwd: user, encoding: "utf8" });
  assert.equal(output, "allow allowed\n");

  // The sandbox entry point runs the same decision in a worker thread.
  const sandboxed = execFileSync(process.execPath, ["--input-type=module", "-e", SANDBOX_EXAMPLE], { cwd: user, encoding: "utf8" });
  assert.equal(sandboxed, "allow allowed\n");
});

const SANDBOX_EXAMPLE = `
import { readFileSync } from "node:fs";
import { SandboxedAuthorizer } from "finegrain-host/sandbox";
const authz = await SandboxedAuthorizer.load(readFileSync("acme.bundle"), { callDeadlineMs: 2000 });
const d = await authz.checkHttp({ method: "GET", path: "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches",
  headers: [["PRIVATE-TOKEN", "glpat-alice-ci-secret"]], at: Date.parse("2026-11-21T12:00:00Z") / 1000 });
console.log(d.effect, d.reasons.map((r) => r.code).join(" "));
`;
