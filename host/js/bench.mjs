// node bench.mjs [BUNDLE]: the cost of one checkHttp call, and of one request
// inside a checkBatch of 1000, through the transpiled component (µs, wall clock);
// and, for comparison, of one describe call (the same decision with every
// reason's detail, which the checks do not format).
import { performance } from "node:perf_hooks";
import { Authorizer } from "./index.js";

const bundle = process.argv[2] ?? new URL("../../target/cases/acme.bundle", import.meta.url);
const authz = await Authorizer.fromFile(bundle);
const at = Date.parse("2026-11-21T12:00:00Z") / 1000;

// A mix of Acme requests: allowed and denied, by name and by secret header.
const requests = [
  { token: { name: "alice-ci" }, method: "GET", path: "/api/v4/projects/acme%2Fplatform%2Fapi/repository/branches", headers: [], at },
  { token: null, method: "GET", path: "/api/v4/projects/100/repository/branches?per_page=20", headers: [["PRIVATE-TOKEN", "glpat-alice-ci-secret"]], at },
  { token: { name: "alice-ci" }, method: "POST", path: "/api/v4/projects/100/merge_requests", headers: [], at },
  { token: { name: "dave-api" }, method: "PUT", path: "/api/v4/projects/100", headers: [], at },
  { token: null, method: "GET", path: "/api/v4/user", headers: [["Authorization", "Bearer glpat-alice-everywhere"]], at },
];
const batch = Array.from({ length: 1000 }, (_, i) => ({ http: requests[i % requests.length] }));

function measure(label, rounds, perRound, fn) {
  for (let i = 0; i < Math.max(1, rounds / 10); i++) fn(i); // warm up
  const samples = [];
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    for (let i = 0; i < rounds; i++) fn(i);
    samples.push(((performance.now() - start) * 1000) / (rounds * perRound));
  }
  samples.sort((a, b) => a - b);
  console.log(`${label}: ${samples[2].toFixed(2)} µs per request (median of 5; min ${samples[0].toFixed(2)})`);
  return samples[2];
}

const single = measure("checkHttp, one call each", 5000, 1, (i) => authz.checkHttp(requests[i % requests.length]));
const batched = measure("checkBatch of 1000", 20, 1000, () => authz.checkBatch(batch));
console.log(`batching saves ${(single - batched).toFixed(2)} µs per request (${(single / batched).toFixed(1)}x)`);
measure("describe, one call each", 5000, 1, (i) => authz.describe(batch[i % requests.length]));
