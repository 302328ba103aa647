// Transpiles the finegrain component (env FINEGRAIN_COMPONENT, default
// ../../target/finegrain.wasm relative to host/js) into generated/ with jco:
// an ES module exporting `instantiate`, plus .d.ts types. WASI-free: the
// component imports only types, and --no-wasi-shim keeps jco from mapping
// anything to @bytecodealliance/preview2-shim; the build fails if it did.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const component = resolve(here, process.env.FINEGRAIN_COMPONENT || "../../target/finegrain.wasm");
const out = join(here, "generated");

if (!existsSync(component)) {
  console.error(`build: no component at ${component} (set FINEGRAIN_COMPONENT, or build it with cargo)`);
  process.exit(1);
}

const jcoDir = join(here, "node_modules", "@bytecodealliance", "jco");
if (!existsSync(jcoDir)) {
  console.error("build: @bytecodealliance/jco is not installed (run npm ci)");
  process.exit(1);
}
const jcoPkg = JSON.parse(readFileSync(join(jcoDir, "package.json"), "utf8"));
const jco = join(jcoDir, jcoPkg.bin.jco);

rmSync(out, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [jco, "transpile", component, "--out-dir", out, "--name", "finegrain",
    "--instantiation", "async", "--no-wasi-shim", "--quiet"],
  { stdio: "inherit" },
);

// Every generated JS/TS file: no import of the WASI shim, no import at all
// besides node:fs (jco's own loader for the core modules).
const files = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else files.push(p);
  }
};
walk(out);
for (const f of files.filter((f) => /\.(js|ts)$/.test(f))) {
  if (readFileSync(f, "utf8").includes("preview2-shim")) {
    console.error(`build: ${f} refers to @bytecodealliance/preview2-shim: the component is not WASI-free`);
    process.exit(1);
  }
}
// What generated/ was built from, so the tests can tell a stale build.
const sha256 = createHash("sha256").update(readFileSync(component)).digest("hex");
// Only the file's name: the npm package ships this file, and a build path is nobody's business.
writeFileSync(
  join(out, "source.json"),
  JSON.stringify({ component: basename(component), sha256, jco: jcoPkg.version }, null, 2) + "\n",
);
console.log(`build: ${component} -> ${out} (${files.length} files)`);
