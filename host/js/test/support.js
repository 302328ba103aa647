// Where the tests find the component and the exported cases.
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";

export const hostDir = fileURLToPath(new URL("..", import.meta.url));
export const repoDir = resolve(hostDir, "../..");

/** The component the Rust build wrote (env FINEGRAIN_COMPONENT). */
export const componentPath = resolve(hostDir, process.env.FINEGRAIN_COMPONENT || join(repoDir, "target/finegrain.wasm"));

/** The WIT contract the component implements (env FINEGRAIN_WIT). */
export const witPath = resolve(hostDir, process.env.FINEGRAIN_WIT || join(repoDir, "wit/authz.wit"));

/** The directory `finegrain test --export` wrote (env FINEGRAIN_CASES). */
export const casesDir = resolve(hostDir, process.env.FINEGRAIN_CASES || join(repoDir, "target/cases"));

/** Every STEM.cases.json in the cases directory, with its STEM.bundle. */
export function caseFiles() {
  if (!existsSync(casesDir)) {
    throw new Error(
      `no cases at ${casesDir}: run \`finegrain test examples/acme.yaml --at 2026-11-21T12:00:00Z --export ${casesDir}\` ` +
        "or set FINEGRAIN_CASES",
    );
  }
  const files = readdirSync(casesDir)
    .filter((f) => f.endsWith(".cases.json"))
    .sort()
    .map((f) => {
      const stem = f.slice(0, -".cases.json".length);
      return { stem, cases: join(casesDir, f), bundle: join(casesDir, `${stem}.bundle`) };
    });
  if (files.length === 0) throw new Error(`no *.cases.json in ${casesDir}`);
  return files;
}

/** The Acme bundle of the cases directory. */
export const acmeBundle = join(casesDir, "acme.bundle");

/** 2026-11-21T12:00:00Z, the time the Acme cases are decided at. */
export const AT = 1795262400;
