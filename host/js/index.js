// The finegrain engine for JavaScript: the component transpiled by jco
// (generated/, `npm run build`) behind a small wrapper that speaks the same
// JSON shapes as the Rust host (serde: snake_case fields, externally tagged
// variants, `null` for none, plain numbers for timestamps and revisions).
//
// Each `Authorizer.load` instantiates its own copy of the component (the core
// modules are compiled once per process), so a trap in one authorizer cannot
// poison another.
//
// WIT finegrain:authz@0.3.0: a decision carries reason codes as an enum (jco:
// kebab-case strings, here snake case as in the JSON and scenario files) and
// permissions as ids, named through the component's `permission-names` table,
// read once per instance (it does not change with `apply`). The `check`
// functions give no reason detail; `describe` and `explain` do.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";

const GENERATED = new URL("./generated/", import.meta.url);
const DISPOSE = Symbol.dispose ?? Symbol.for("dispose");

/** An error the engine reported: a bundle it refused, a failed update, an unknown token. */
export class FinegrainError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "FinegrainError";
  }
}

let bindings; // Promise of the generated module
const compiled = new Map(); // core module name -> Promise<WebAssembly.Module>

function generated() {
  bindings ??= import(new URL("finegrain.js", GENERATED).href).catch((err) => {
    bindings = undefined;
    throw new Error(
      `finegrain-host: cannot load the transpiled component from ${GENERATED.pathname} ` +
        `(run \`npm run build\`): ${err.message}`,
      { cause: err },
    );
  });
  return bindings;
}

function coreModule(name) {
  let module = compiled.get(name);
  if (!module) {
    module = readFile(new URL(name, GENERATED)).then((bytes) => WebAssembly.compile(bytes));
    compiled.set(name, module);
  }
  return module;
}

async function instance() {
  const { instantiate } = await generated();
  // The two imported interfaces (types, updates) hold types only: nothing to provide.
  const root = await instantiate(coreModule, {});
  return root.authorize.Authorizer;
}

// Engine `result` errors arrive as jco's ComponentError (payload = the message).
function engineError(err) {
  if (err instanceof Error && Object.prototype.hasOwnProperty.call(err, "payload")) {
    return new FinegrainError(String(err.payload), { cause: err });
  }
  return err;
}

// ---------------------------------------------------------------- JSON -> jco

function fail(what, value) {
  return new TypeError(`finegrain: invalid ${what}: ${JSON.stringify(value) ?? String(value)}`);
}

function str(what, value) {
  if (typeof value !== "string") throw fail(what, value);
  return value;
}

function optStr(what, value) {
  return value === null || value === undefined ? undefined : str(what, value);
}

function strList(what, value) {
  if (!Array.isArray(value)) throw fail(what, value);
  for (const v of value) str(what, v);
  return value;
}

/** Seconds since the epoch as an s64: a safe integer, a bigint or a Date; absent = now. */
function timestamp(at) {
  if (at === undefined || at === null) return BigInt(Math.floor(Date.now() / 1000));
  if (typeof at === "bigint") return at;
  if (Number.isSafeInteger(at)) return BigInt(at);
  if (at instanceof Date && !Number.isNaN(at.getTime())) return BigInt(Math.floor(at.getTime() / 1000));
  throw fail("timestamp (seconds since the epoch)", at);
}

function optTimestamp(at) {
  return at === null || at === undefined ? undefined : timestamp(at);
}

/** The single key of an externally tagged value: `{ "http": {...} }` -> ["http", {...}]. */
function tagged(what, value) {
  if (typeof value === "string") return [value, undefined];
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw fail(what, value);
  const keys = Object.keys(value);
  if (keys.length !== 1) throw fail(what, value);
  return [keys[0], value[keys[0]]];
}

function tokenRef(token) {
  const [tag, val] = tagged("token (want {secret} or {name})", token);
  if ((tag !== "secret" && tag !== "name") || typeof val !== "string") {
    throw fail("token (want {secret} or {name})", token);
  }
  return { tag, val };
}

function optTokenRef(token) {
  return token === null || token === undefined ? undefined : tokenRef(token);
}

function bool(what, value) {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw fail(what, value);
  return value;
}

function object(what, value) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw fail(what, value);
  return value;
}

function permissionRequest(r) {
  object("permission request", r);
  return {
    token: tokenRef(r.token),
    permission: str("permission", r.permission),
    namespace: optStr("namespace", r.namespace),
    refName: optStr("ref_name", r.ref_name),
    force: bool("force", r.force),
    at: timestamp(r.at),
  };
}

function header(h) {
  if (Array.isArray(h) && h.length === 2) return { name: str("header name", h[0]), value: str("header value", h[1]) };
  if (h && typeof h === "object") return { name: str("header name", h.name), value: str("header value", h.value) };
  throw fail("header (want [name, value])", h);
}

function httpRequest(r) {
  object("http request", r);
  const headers = r.headers ?? [];
  if (!Array.isArray(headers)) throw fail("headers", headers);
  return {
    token: optTokenRef(r.token),
    method: str("method", r.method),
    path: str("path", r.path),
    headers: headers.map(header),
    body: r.body == null ? undefined : str("body", r.body),
    owner: optStr("owner", r.owner),
    at: timestamp(r.at),
  };
}

function refUpdate(u) {
  object("ref update", u);
  return {
    oldId: str("old_id", u.old_id ?? ""),
    newId: str("new_id", u.new_id ?? ""),
    name: str("ref name", u.name),
    force: bool("force", u.force),
  };
}

function gitService(s) {
  const [tag, val] = tagged("git service", s);
  if (tag === "upload_pack" && (val === undefined || val === null)) return { tag: "upload-pack" };
  if (tag === "receive_pack" && Array.isArray(val)) return { tag: "receive-pack", val: val.map(refUpdate) };
  throw fail('git service (want "upload_pack" or {receive_pack: [...]})', s);
}

function gitRequest(r) {
  object("git request", r);
  return {
    token: tokenRef(r.token),
    project: str("project", r.project),
    service: gitService(r.service),
    at: timestamp(r.at),
  };
}

function request(r) {
  const [tag, val] = tagged("request (want {permission}, {http} or {git})", r);
  switch (tag) {
    case "permission":
      return { tag, val: permissionRequest(val) };
    case "http":
      return { tag, val: httpRequest(val) };
    case "git":
      return { tag, val: gitRequest(val) };
    default:
      throw fail("request (want {permission}, {http} or {git})", r);
  }
}

function digest(d) {
  if (typeof d === "string" && /^[0-9a-fA-F]{64}$/.test(d)) return Uint8Array.from(Buffer.from(d, "hex"));
  if (d instanceof Uint8Array) return d;
  if (Array.isArray(d) && d.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return Uint8Array.from(d);
  throw fail("digest (want 32 bytes or 64 hex digits)", d);
}

function grantAccess(a) {
  const [tag, val] = tagged("grant access", a);
  switch (tag) {
    case "personal_projects":
    case "all_memberships":
    case "user":
    case "instance":
      if (val !== undefined && val !== null) break;
      return { tag: tag.replaceAll("_", "-") };
    case "selected_memberships":
      return { tag: "selected-memberships", val: strList("selected namespaces", val) };
  }
  throw fail("grant access", a);
}

function tokenKind(k) {
  const [tag, val] = tagged("token kind (want {legacy} or {fine_grained})", k);
  if (tag === "legacy") return { tag, val: strList("scopes", val) };
  if (tag === "fine_grained" && Array.isArray(val)) {
    return {
      tag: "fine-grained",
      val: val.map((g) => ({
        access: grantAccess(object("grant", g).access),
        permissions: strList("grant permissions", g.permissions),
      })),
    };
  }
  throw fail("token kind (want {legacy} or {fine_grained})", k);
}

function update(u) {
  const [tag, val] = tagged("update", u);
  switch (tag) {
    case "add_token":
      object("new token", val);
      return {
        tag: "add-token",
        val: {
          name: str("token name", val.name),
          user: str("user", val.user),
          digest: digest(val.digest),
          kind: tokenKind(val.kind),
          expires: optTimestamp(val.expires),
        },
      };
    case "revoke_token":
      return { tag: "revoke-token", val: str("token name", val) };
    case "add_membership":
      object("membership", val);
      return {
        tag: "add-membership",
        val: {
          user: str("user", val.user),
          namespace: str("namespace", val.namespace),
          role: str("role", val.role),
          expires: optTimestamp(val.expires),
        },
      };
    case "remove_membership":
      if (!Array.isArray(val) || val.length !== 2) break;
      return { tag: "remove-membership", val: [str("user", val[0]), str("namespace", val[1])] };
  }
  throw fail("update", u);
}

// ---------------------------------------------------------------- jco -> JSON

function u64(n) {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`finegrain: ${n} exceeds a safe JS integer`);
  return Number(n);
}

/**
 * The deny for a decision the host cannot trust or a guest that failed: the
 * host's own code `engine_failure`, as the Rust host. Shared with the sandbox.
 * @internal
 */
export function engineFailure(detail, revision) {
  return {
    effect: "deny",
    reasons: [{ code: "engine_failure", detail }],
    required_permissions: [],
    accepted_permissions: [],
    boundary: null,
    namespace: null,
    revision,
  };
}

const BAD_ID = "the engine named a permission id outside its own names table";

// A reason without detail (from the check functions) has no `detail` key, as in the Rust host's JSON.
// jco gives the code, an enum case, in kebab case (`token-revoked`); decisions spell it in snake case.
function reason(r) {
  const code = r.code.replaceAll("-", "_");
  return r.detail === undefined || r.detail === null ? { code } : { code, detail: r.detail };
}

/** The names of `ids` in `table`; null when an id is outside it. */
function named(ids, table) {
  const out = new Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const name = table[ids[i]];
    if (typeof name !== "string") return null;
    out[i] = name;
  }
  return out;
}

/** The JSON decision of a jco decision, its permission ids named; null for an id outside the names table. */
function decision(d, names) {
  const required = named(d.requiredPermissions, names.raw);
  const accepted = required && named(d.acceptedPermissions, names.assignable);
  if (!accepted) return null;
  return {
    effect: d.effect,
    reasons: d.reasons.map(reason),
    required_permissions: required,
    accepted_permissions: accepted,
    boundary: d.boundary ?? null,
    namespace: d.namespace ?? null,
    revision: u64(d.revision),
  };
}

/** The names table of an instance: read once, as it does not change with `apply`. */
function permissionNames(raw) {
  const names = raw.permissionNames();
  return { raw: Object.freeze([...names.raw]), assignable: Object.freeze([...names.assignable]) };
}

function tokenReport(r) {
  return {
    name: r.name,
    user: r.user,
    kind: r.kind,
    status: r.status,
    expires: r.expires === undefined ? null : u64(r.expires),
    scopes: r.scopes,
    access: r.access.map((e) => ({
      boundary: e.boundary,
      namespace: e.namespace ?? null,
      permissions: e.permissions,
    })),
  };
}

// ---------------------------------------------------------------- the wrapper

export class Authorizer {
  #raw;
  #names; // the instance's permission names, read once (they do not change with apply)
  #revision = 0; // the last revision the engine reported, for a decision it could not make

  /** Wraps a jco authorizer resource; reads its permission names table once. */
  constructor(raw) {
    if (!raw) throw new TypeError("use Authorizer.load(bundle) or Authorizer.fromFile(path)");
    this.#names = permissionNames(raw);
    this.#raw = raw;
    this.#revision = u64(raw.revision());
  }

  get #engine() {
    if (!this.#raw) throw new Error("finegrain: this authorizer was disposed");
    return this.#raw;
  }

  /** A decision of the engine, named; the engine_failure deny when it named an id outside its table. */
  #decided(d) {
    const named = decision(d, this.#names);
    if (!named) return engineFailure(BAD_ID, this.#revision);
    this.#revision = named.revision;
    return named;
  }

  /** Loads a bundle (`finegrain bundle build`); throws FinegrainError when the engine refuses it. */
  static async load(bundle) {
    let bytes;
    if (bundle instanceof Uint8Array) bytes = bundle;
    else if (bundle instanceof ArrayBuffer) bytes = new Uint8Array(bundle);
    else throw new TypeError("finegrain: a bundle is a Uint8Array, Buffer or ArrayBuffer");
    const Raw = await instance();
    let raw;
    try {
      raw = Raw.load(bytes);
    } catch (err) {
      throw engineError(err);
    }
    try {
      return new Authorizer(raw);
    } catch (err) {
      raw[DISPOSE]?.();
      throw err;
    }
  }

  /** Reads and loads a bundle file. */
  static async fromFile(path) {
    return Authorizer.load(await readFile(path));
  }

  /** SHA-256 of a token secret, as `add_token` wants it. */
  static digest(secret) {
    return new Uint8Array(createHash("sha256").update(secret, "utf8").digest());
  }

  /** The names of the permissions decisions carry: {raw, assignable}, as the bundle's catalog has them. */
  permissionNames() {
    if (!this.#raw) throw new Error("finegrain: this authorizer was disposed");
    return { raw: [...this.#names.raw], assignable: [...this.#names.assignable] };
  }

  /** Permission-shaped check: {token, permission, namespace?, ref_name?, force?, at}. No reason details. */
  check(req) {
    return this.#decided(this.#engine.check(permissionRequest(req)));
  }

  /** HTTP-shaped check: {token?, method, path, headers: [[name, value]], body?, owner?, at}. No reason details. */
  checkHttp(req) {
    return this.#decided(this.#engine.checkHttp(httpRequest(req)));
  }

  /** Git-shaped check: {token, project, service: "upload_pack" | {receive_pack: [...]}, at}. No reason details. */
  checkGit(req) {
    return this.#decided(this.#engine.checkGit(gitRequest(req)));
  }

  /** Many checks in one call ({permission} | {http} | {git} each); decisions in order. */
  checkBatch(requests) {
    if (!Array.isArray(requests)) throw fail("request list", requests);
    return this.#engine.checkBatch(requests.map(request)).map((d) => this.#decided(d));
  }

  /** Any check: routes {permission} | {http} | {git} to the matching call. */
  decide(req) {
    const r = request(req);
    switch (r.tag) {
      case "permission":
        return this.#decided(this.#engine.check(r.val));
      case "http":
        return this.#decided(this.#engine.checkHttp(r.val));
      default:
        return this.#decided(this.#engine.checkGit(r.val));
    }
  }

  /** The same decision as `decide`, with every reason's detail: for people (a 403 body, a CLI). */
  describe(req) {
    return this.#decided(this.#engine.describe(request(req)));
  }

  /** The described decision with the engine's steps: {decision, steps}. */
  explain(req) {
    const e = this.#engine.explain(request(req));
    const d = decision(e.decision, this.#names);
    if (!d) return { decision: engineFailure(BAD_ID, this.#revision), steps: [BAD_ID] };
    this.#revision = d.revision;
    return { decision: d, steps: e.steps };
  }

  /** What a token may do, per namespace, at time `at`; throws FinegrainError for an unknown token. */
  inspectToken(token, at) {
    const t = tokenRef(token);
    const when = timestamp(at);
    try {
      return tokenReport(this.#engine.inspectToken(t, when));
    } catch (err) {
      throw engineError(err);
    }
  }

  /** Applies updates all together or not at all; returns the new revision. */
  apply(updates) {
    if (!Array.isArray(updates)) throw fail("update list", updates);
    const us = updates.map(update);
    try {
      this.#revision = u64(this.#engine.apply(us));
      return this.#revision;
    } catch (err) {
      throw engineError(err);
    }
  }

  /** The policy revision: the bundle's, plus one per successful apply. */
  revision() {
    this.#revision = u64(this.#engine.revision());
    return this.#revision;
  }

  /** Frees the engine's copy of the policy now rather than at garbage collection. */
  dispose() {
    this.#raw?.[DISPOSE]?.();
    this.#raw = undefined;
  }

  [DISPOSE]() {
    this.dispose();
  }
}
