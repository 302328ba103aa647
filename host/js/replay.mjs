// node replay.mjs CASES_JSON BUNDLE: prints, as a JSON list, this host's
// decision and described decision for each case's request, in order
// (`{decision, described}`, for the cross-host agreement test).
import { readFile } from "node:fs/promises";
import { Authorizer } from "./index.js";

const [casesPath, bundlePath] = process.argv.slice(2);
if (!casesPath || !bundlePath) {
  console.error("usage: node replay.mjs CASES_JSON BUNDLE");
  process.exit(2);
}
const cases = JSON.parse(await readFile(casesPath, "utf8"));
const authz = await Authorizer.fromFile(bundlePath);
const answers = cases.map((c) => ({ decision: authz.decide(c.request), described: authz.describe(c.request) }));
console.log(JSON.stringify(answers, null, 2));
