// node replay.mjs CASES_JSON BUNDLE: prints, as a JSON list, this host's
// decision for each case's request, in order (for the cross-host agreement test).
import { readFile } from "node:fs/promises";
import { Authorizer } from "./index.js";

const [casesPath, bundlePath] = process.argv.slice(2);
if (!casesPath || !bundlePath) {
  console.error("usage: node replay.mjs CASES_JSON BUNDLE");
  process.exit(2);
}
const cases = JSON.parse(await readFile(casesPath, "utf8"));
const authz = await Authorizer.fromFile(bundlePath);
console.log(JSON.stringify(cases.map((c) => authz.decide(c.request)), null, 2));
