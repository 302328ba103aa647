// The transpiled component: built from the component under test, WASI-free.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";

import { componentPath, hostDir } from "./support.js";

const generated = join(hostDir, "generated");
const files = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );

it("generated/ was transpiled from the component under test", () => {
  const source = JSON.parse(readFileSync(join(generated, "source.json"), "utf8"));
  const sha256 = createHash("sha256").update(readFileSync(componentPath)).digest("hex");
  assert.equal(source.sha256, sha256, `generated/ is stale for ${componentPath}: run npm run build`);
  assert.equal(source.jco, "1.35.0");
});

it("the generated code imports no WASI shim and nothing but node:fs", () => {
  const code = files(generated).filter((f) => /\.(js|ts)$/.test(f));
  assert.ok(code.some((f) => f.endsWith("finegrain.js")));
  assert.ok(code.some((f) => f.endsWith("finegrain.d.ts")));
  for (const f of code) {
    const text = readFileSync(f, "utf8");
    assert.ok(!text.includes("@bytecodealliance/preview2-shim"), `${f} imports the WASI shim`);
    assert.ok(!/["']wasi:/.test(text), `${f} names a WASI interface`);
    if (f.endsWith(".js")) {
      const statics = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?\bfrom\s+["']([^"']+)["']/gm)].map((m) => m[1]);
      assert.deepEqual(statics, [], `${f} has static imports`);
      const dynamics = [...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
      assert.deepEqual([...new Set(dynamics)], ["node:fs/promises"], `${f}: dynamic imports`);
    }
  }
});

it("the component imports only the two types-only interfaces", () => {
  const dts = readFileSync(join(generated, "finegrain.d.ts"), "utf8");
  const importObject = dts.match(/export interface ImportObject \{([^}]*)\}/);
  assert.ok(importObject, "finegrain.d.ts has an ImportObject");
  const names = [...importObject[1].matchAll(/'([^']+)'\s*:/g)].map((m) => m[1]);
  assert.deepEqual(names.sort(), ["finegrain:authz/types@0.3.0", "finegrain:authz/updates@0.3.0"]);
  // Types only: their generated interfaces declare no functions.
  for (const iface of ["finegrain-authz-types.d.ts", "finegrain-authz-updates.d.ts"]) {
    const text = readFileSync(join(generated, "interfaces", iface), "utf8");
    assert.ok(!/export function|export class/.test(text), `${iface} declares functions`);
  }
});
