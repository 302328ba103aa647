// A sandboxed authorizer: the engine runs in a worker thread the host can stop.
//
// `Authorizer` (index.js) calls the component on the caller's thread, so an
// engine that loops holds the thread and one that allocates without end grows
// the process. `SandboxedAuthorizer` runs the same wrapper inside a worker
// (node:worker_threads) and bounds it, as the Rust and Python hosts bound their
// instances:
//
// - time: each call has a deadline; past it the worker is terminated and the
//   check is denied with `engine_failure`;
// - memory: each core module's linear memory gets a maximum (wasm-limits.js),
//   so `memory.grow` fails inside the guest past the limit; the worker's own
//   JavaScript heap is capped with `resourceLimits`;
// - output: reason details (from `describe` and `explain`; the checks carry
//   none) are cut to one line of at most MAX_DETAIL bytes, and a decision
//   carries at most MAX_REASONS reasons; a decision naming a permission id
//   outside the engine's names table is denied with `engine_failure` (index.js);
// - after any failure the next call gets a fresh worker, loaded from the bundle
//   plus every update applied since, so nothing accepted is lost; the fresh
//   instance's permission names are read again when it loads.
//
// Checks, explain and batches never throw for an engine failure: they fail
// closed. `inspectToken` and `apply` throw `EngineFailure`.

import { Worker } from "node:worker_threads";
import { readFile } from "node:fs/promises";

import { FinegrainError, engineFailure as failure } from "./index.js";

/** The smallest default memory limit per instance, as the Rust host: 512 MiB. */
export const MEMORY_FLOOR = 512 << 20;
/** The largest memory a 32-bit guest can address: 4 GiB. */
export const MEMORY_CEILING = 4 * 2 ** 30;
/** Default memory per bundle byte (the engine indexes the bundle in memory). */
export const MEMORY_PER_BUNDLE_BYTE = 16;
/** Default longest guest call, and longest bundle load, in milliseconds. */
export const CALL_DEADLINE_MS = 1000;
export const LOAD_DEADLINE_MS = 60_000;
/** Longest reason detail passed on, in bytes, and most reasons per decision. */
export const MAX_DETAIL = 64 * 1024;
export const MAX_REASONS = 4096;
/** The worker's JavaScript heap (the wrapper's objects, not the guest's memory). */
const HEAP_MB = 256;

const WORKER = new URL("./sandbox-worker.js", import.meta.url);
const GENERATED = new URL("./generated/", import.meta.url);

/** The engine broke (trapped, ran past its deadline, exhausted a limit) during a call that cannot fail closed. */
export class EngineFailure extends FinegrainError {
  constructor(message) {
    super(message);
    this.name = "EngineFailure";
  }
}

/** Most explanation steps passed on. */
export const MAX_STEPS = 1024;

/** The first line of `text`, cut to at most MAX_DETAIL bytes on a character boundary (then marked …), as the Rust host. */
export function oneLine(text) {
  const line = String(text).split(/\r?\n/, 1)[0];
  const bytes = Buffer.from(line, "utf8");
  if (bytes.length <= MAX_DETAIL) return line;
  let end = MAX_DETAIL;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // not inside a UTF-8 sequence
  return `${bytes.subarray(0, end).toString("utf8")}…`;
}

function bounded(decision) {
  const reasons = decision.reasons
    .slice(0, MAX_REASONS)
    .map((r) => (r.detail === undefined ? { code: oneLine(r.code) } : { code: oneLine(r.code), detail: oneLine(r.detail) }));
  return { ...decision, reasons };
}

/** One worker and its pending calls. */
class Instance {
  #worker;
  #next = 0;
  #pending = new Map();
  #dead = null;

  constructor(generated, memoryLimit) {
    this.#worker = new Worker(WORKER, {
      workerData: { generated: generated.href, memoryLimit },
      resourceLimits: { maxOldGenerationSizeMb: HEAP_MB, maxYoungGenerationSizeMb: 32 },
      // The parent's flags, less those a worker refuses (`node --input-type=module -e …`).
      execArgv: process.execArgv.filter((flag) => !flag.startsWith("--input-type")),
    });
    this.#worker.on("message", ({ id, value, error }) => this.#settle(id, error, value));
    this.#worker.on("error", (err) => this.#fail(`the engine failed: ${err.message}`));
    this.#worker.on("exit", (code) => this.#fail(`the engine's worker exited (code ${code})`));
    // An idle worker does not keep the process alive; a pending call's timer does.
    this.#worker.unref();
  }

  #settle(id, error, value) {
    const call = this.#pending.get(id);
    if (!call) return;
    this.#pending.delete(id);
    clearTimeout(call.timer);
    if (error) call.reject(error);
    else call.resolve(value);
  }

  #fail(message) {
    this.#dead ??= message;
    for (const [id] of this.#pending) this.#settle(id, { kind: "failure", message });
  }

  get dead() {
    return this.#dead !== null;
  }

  /** Runs one call; rejects with {kind, message}. A call past `deadlineMs` kills the worker. */
  call(deadlineMs, message) {
    if (this.#dead) return Promise.reject({ kind: "failure", message: this.#dead });
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const text = `the engine ran past its deadline of ${deadlineMs} ms and was interrupted`;
        this.#dead = text;
        this.#settle(id, { kind: "deadline", message: text });
        this.#worker.terminate();
      }, deadlineMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#worker.postMessage({ id, ...message });
    });
  }

  terminate() {
    this.#dead ??= "terminated";
    return this.#worker.terminate();
  }
}

// The one-line detail for an engine failure.
function detailOf(error) {
  if (error.kind === "trap") return oneLine(`the engine trapped: ${error.message}`);
  if (error.kind === "deadline" || error.kind === "failure") return oneLine(error.message);
  return oneLine(`the engine failed: ${error.message}`);
}

// A rejection from the worker that is the caller's doing or the engine's
// answer, not a failure: thrown as the error it was.
function rethrown(error) {
  if (error.kind === "engine") return new FinegrainError(error.message);
  if (error.kind === "input") return new TypeError(error.message);
  return null;
}

/** Options of a sandboxed authorizer; every one has a default. */
function options(bundle, opts = {}) {
  const generated = opts.generated ? new URL(opts.generated, `file://${process.cwd()}/`) : GENERATED;
  const sized = Math.min(Math.max(MEMORY_FLOOR, bundle.length * MEMORY_PER_BUNDLE_BYTE), MEMORY_CEILING);
  return {
    generated: generated.href.endsWith("/") ? generated : new URL(`${generated.href}/`),
    memoryLimit: opts.memoryLimit ?? sized,
    callDeadlineMs: opts.callDeadlineMs ?? CALL_DEADLINE_MS,
    loadDeadlineMs: opts.loadDeadlineMs ?? LOAD_DEADLINE_MS,
  };
}

/**
 * An authorizer whose engine runs in a worker thread, under a deadline per
 * call and a memory limit per instance. Same requests and decisions as
 * `Authorizer`, but every method returns a promise.
 */
export class SandboxedAuthorizer {
  #bundle;
  #opts;
  #updates = []; // every update batch the engine accepted, replayed into a fresh instance
  #revision = 0;
  #instance = null;

  constructor(bundle, opts) {
    this.#bundle = bundle;
    this.#opts = opts;
  }

  /**
   * Loads a bundle in a fresh worker. Options: `memoryLimit` (bytes; default
   * max(512 MiB, 16 × bundle size), at most 4 GiB), `callDeadlineMs` (1000),
   * `loadDeadlineMs` (60000), `generated` (the directory of a transpiled
   * component; default this package's). Throws FinegrainError when the engine
   * refuses the bundle, EngineFailure when loading breaks the engine.
   */
  static async load(bundle, opts) {
    let bytes;
    if (bundle instanceof Uint8Array) bytes = bundle;
    else if (bundle instanceof ArrayBuffer) bytes = new Uint8Array(bundle);
    else throw new TypeError("finegrain: a bundle is a Uint8Array, Buffer or ArrayBuffer");
    const authz = new SandboxedAuthorizer(bytes, options(bytes, opts));
    await authz.#ready();
    return authz;
  }

  /** Reads and loads a bundle file. */
  static async fromFile(path, opts) {
    return SandboxedAuthorizer.load(await readFile(path), opts);
  }

  /** A live instance: the current one, or a fresh one loaded from the bundle and the updates since. */
  async #ready() {
    if (this.#instance && !this.#instance.dead) return this.#instance;
    this.#instance?.terminate();
    const instance = new Instance(this.#opts.generated, this.#opts.memoryLimit);
    try {
      this.#revision = await instance.call(this.#opts.loadDeadlineMs, {
        op: "load",
        args: [this.#bundle, this.#updates],
      });
    } catch (error) {
      instance.terminate();
      if (error.kind === "engine") throw new FinegrainError(error.message);
      throw new EngineFailure(`cannot load the bundle: ${detailOf(error)}`);
    }
    this.#instance = instance;
    return instance;
  }

  /** One call; resolves to {value} or {failure: one-line detail}; rethrows the caller's own errors. */
  async #call(method, ...args) {
    let instance;
    try {
      instance = await this.#ready();
    } catch (err) {
      if (err instanceof EngineFailure) return { failure: err.message };
      throw err;
    }
    try {
      return { value: await instance.call(this.#opts.callDeadlineMs, { op: "call", method, args }) };
    } catch (error) {
      const own = rethrown(error);
      if (own) throw own;
      instance.terminate();
      return { failure: detailOf(error) };
    }
  }

  async #decision(method, req) {
    const r = await this.#call(method, req);
    return r.failure === undefined ? bounded(r.value) : failure(r.failure, this.#revision);
  }

  /** Permission-shaped check. */
  check(req) {
    return this.#decision("check", req);
  }

  /** HTTP-shaped check. */
  checkHttp(req) {
    return this.#decision("checkHttp", req);
  }

  /** Git-shaped check. */
  checkGit(req) {
    return this.#decision("checkGit", req);
  }

  /** Any check ({permission} | {http} | {git}). */
  decide(req) {
    return this.#decision("decide", req);
  }

  /** The same decision as `decide`, with every reason's detail. */
  describe(req) {
    return this.#decision("describe", req);
  }

  /** Many checks; an entry that breaks the engine denies only itself. */
  async checkBatch(requests) {
    if (!Array.isArray(requests)) throw new TypeError("finegrain: invalid request list");
    const r = await this.#call("checkBatch", requests);
    if (r.failure === undefined) return r.value.map(bounded);
    // One entry broke the whole call: decide each alone to find it.
    const decisions = [];
    for (const req of requests) decisions.push(await this.decide(req));
    return decisions;
  }

  /** The decision with the engine's steps. */
  async explain(req) {
    const r = await this.#call("explain", req);
    if (r.failure !== undefined) return { decision: failure(r.failure, this.#revision), steps: [r.failure] };
    const steps = r.value.steps.slice(0, MAX_STEPS).map(oneLine);
    return { decision: bounded(r.value.decision), steps };
  }

  /** The names of the permissions decisions carry ({raw, assignable}); throws EngineFailure when the engine breaks. */
  async permissionNames() {
    const r = await this.#call("permissionNames");
    if (r.failure !== undefined) throw new EngineFailure(r.failure);
    return r.value;
  }

  /** What a token may do; throws FinegrainError for an unknown token, EngineFailure when the engine breaks. */
  async inspectToken(token, at) {
    const r = await this.#call("inspectToken", token, at);
    if (r.failure !== undefined) throw new EngineFailure(r.failure);
    return r.value;
  }

  /** Applies updates all together or not at all; returns the new revision. */
  async apply(updates) {
    const r = await this.#call("apply", updates);
    if (r.failure !== undefined) throw new EngineFailure(r.failure);
    this.#updates.push(updates);
    this.#revision = r.value;
    return r.value;
  }

  /** The policy revision: the bundle's, plus one per successful apply. */
  revision() {
    return this.#revision;
  }

  /** Stops the worker. */
  async close() {
    await this.#instance?.terminate();
    this.#instance = null;
  }
}
