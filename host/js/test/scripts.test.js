// The runnable scripts: the example and the replay used by the cross-host test.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";

import { acmeBundle, caseFiles, hostDir } from "./support.js";

const node = (script, ...args) =>
  execFileSync(process.execPath, [join(hostDir, script), ...args], { encoding: "utf8", cwd: hostDir });

it("example.mjs checks one Acme request and prints effect and reason codes", () => {
  assert.equal(node("example.mjs", acmeBundle), "allow allowed\n");
  assert.ok(readFileSync(join(hostDir, "example.mjs"), "utf8").trimEnd().split("\n").length <= 12);
});

it("replay.mjs prints the Rust host's decisions and described decisions, in order", () => {
  for (const file of caseFiles()) {
    const cases = JSON.parse(readFileSync(file.cases, "utf8"));
    const answers = JSON.parse(node("replay.mjs", file.cases, file.bundle));
    assert.deepStrictEqual(
      answers,
      cases.map((c) => ({ decision: c.decision, described: c.described })),
    );
  }
});

it("replay.mjs explains its usage", () => {
  assert.throws(() => execFileSync(process.execPath, [join(hostDir, "replay.mjs")], { stdio: "pipe" }), (err) => {
    assert.equal(err.status, 2);
    assert.match(String(err.stderr), /usage: node replay.mjs CASES_JSON BUNDLE/);
    return true;
  });
});
