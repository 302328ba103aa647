// A stand-in for the transpiled component (generated/finegrain.js) in plain
// JavaScript, for the sandbox tests that need no real WebAssembly: the jco
// shapes of finegrain:authz@0.3.0, a names table of two raw permissions and
// one assignable one, and misbehaviour on request. `check` looks at the
// permission: `bad-id` allows naming raw permission id 9 (outside the table),
// `trap` throws as a trapping guest does, anything else allows naming id 0.
// Every request it is given is kept in `Authorizer.requests` (in its thread).
const NAMES = { raw: ["read_code", "push_code"], assignable: ["read_repository"] };

class Authorizer {
  static requests = [];
  #revision = 1n;

  static load(bundle) {
    if (new TextDecoder().decode(bundle) === "reject") {
      throw Object.assign(new Error("rejected"), { payload: "fake engine: bundle rejected" });
    }
    return new Authorizer();
  }

  permissionNames() {
    return { raw: [...NAMES.raw], assignable: [...NAMES.assignable] };
  }

  #decide(permission, detail) {
    if (permission === "trap") throw new WebAssembly.RuntimeError("unreachable");
    const reason = detail ? { code: "allowed", detail: `fake engine: ${permission} allowed` } : { code: "allowed" };
    return {
      effect: "allow",
      reasons: [reason],
      requiredPermissions: Uint16Array.of(permission === "bad-id" ? 9 : 0),
      acceptedPermissions: Uint16Array.of(0),
      boundary: "project",
      namespace: "acme/api",
      revision: this.#revision,
    };
  }

  check(request) {
    Authorizer.requests.push(request);
    return this.#decide(request.permission, false);
  }

  checkHttp(request) {
    Authorizer.requests.push(request);
    return this.#decide(request.method, false);
  }

  checkGit(request) {
    Authorizer.requests.push(request);
    return this.#decide(request.project, false);
  }

  checkBatch(requests) {
    Authorizer.requests.push(...requests);
    return requests.map((r) => this.#decide(r.val.permission ?? r.val.method ?? r.val.project, false));
  }

  describe(request) {
    Authorizer.requests.push(request);
    return this.#decide(request.val.permission ?? request.val.method ?? request.val.project, true);
  }

  explain(request) {
    return { decision: this.describe(request), steps: ["fake engine: one step"] };
  }

  inspectToken() {
    throw Object.assign(new Error("no tokens"), { payload: "fake engine: no tokens" });
  }

  apply(updates) {
    this.#revision += BigInt(updates.length);
    return this.#revision;
  }

  revision() {
    return this.#revision;
  }
}

export async function instantiate() {
  return { authorize: { Authorizer } };
}
