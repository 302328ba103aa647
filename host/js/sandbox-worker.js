// The inside of a SandboxedAuthorizer (sandbox.js): one worker thread holding
// one instance of an engine component. The parent sends it the component's
// transpiled module, the memory limit, the bundle and the updates applied so
// far; then one call at a time. A trap, a runaway call or a memory bomb here
// costs this worker only: the parent terminates it and starts another, whose
// Authorizer reads the fresh instance's permission names table again.

import { readFile } from "node:fs/promises";
import { parentPort, workerData } from "node:worker_threads";

import { Authorizer, FinegrainError } from "./index.js";
import { withMemoryLimit } from "./wasm-limits.js";

const { generated, memoryLimit } = workerData;
let authz;

async function instantiate(bundle, updates) {
  const { instantiate: make } = await import(new URL("finegrain.js", generated).href);
  const compile = async (name) => {
    const bytes = new Uint8Array(await readFile(new URL(name, generated)));
    return WebAssembly.compile(withMemoryLimit(bytes, memoryLimit));
  };
  const root = await make(compile, {});
  const Raw = root.authorize.Authorizer;
  let raw;
  try {
    raw = Raw.load(bundle);
  } catch (err) {
    throw engineError(err);
  }
  authz = new Authorizer(raw); // reads the instance's permission names once
  for (const batch of updates) authz.apply(batch);
  return authz.revision();
}

// jco reports an engine `result` error as an Error with a `payload`.
function engineError(err) {
  if (err instanceof Error && Object.prototype.hasOwnProperty.call(err, "payload")) {
    return new FinegrainError(String(err.payload));
  }
  return err;
}

// What the parent needs to tell the errors apart: the engine refused
// (FinegrainError), the request was not valid (TypeError, RangeError), or the
// engine broke (anything else: a trap, an exhausted limit).
function classify(err) {
  if (err instanceof FinegrainError) return { kind: "engine", message: err.message };
  if (err instanceof WebAssembly.RuntimeError) return { kind: "trap", message: err.message };
  if (err instanceof TypeError || err instanceof RangeError) return { kind: "input", message: err.message };
  return { kind: "failure", message: err instanceof Error ? err.message : String(err) };
}

parentPort.on("message", async ({ id, op, method, args }) => {
  try {
    let value;
    if (op === "load") value = await instantiate(args[0], args[1]);
    else value = authz[method](...args);
    parentPort.postMessage({ id, value });
  } catch (err) {
    parentPort.postMessage({ id, error: classify(err) });
  }
});
