// Types of the finegrain JS host. The shapes are the Rust host's JSON (serde:
// snake_case fields, externally tagged variants, `null` for none), not jco's
// raw mapping; see generated/interfaces/*.d.ts for that.
//
// Kept against wit/authz.wit (finegrain:authz@0.3.0) by test/wit-types.test.js:
// every WIT record field, enum case and variant case, and every authorizer
// method, must have its counterpart here (snake case; a record `http-request`
// is the interface `HttpRequest`).

/** Seconds since 1970-01-01T00:00:00Z; a Date is taken to the second. Absent: now. */
export type Timestamp = number | bigint | Date;

export type TokenRef = { secret: string } | { name: string };

export interface PermissionRequest {
  token: TokenRef;
  /** A raw (`push_code`) or assignable permission. */
  permission: string;
  /** Full path or numeric id; null for user- and instance-level permissions. */
  namespace?: string | null;
  /** `refs/heads/main`, `main`, `refs/tags/v1`. */
  ref_name?: string | null;
  force?: boolean;
  at?: Timestamp;
}

export interface HttpRequest {
  /** null: read the token from the headers and query, as a gateway would. */
  token?: TokenRef | null;
  method: string;
  /** The request target with its query. */
  path: string;
  /** `[name, value]` pairs (`{name, value}` objects are taken too). */
  headers?: Array<[string, string] | Header>;
  /** The body the engine reads: GraphQL (JSON or form encoded) and a POST with a form content type or none. */
  body?: string | null;
  /**
   * Full path or numeric id of the project or group that owns the object an
   * object-addressed route names (`/runners/:id`, `/pipelines/:id/…`), when the
   * host has looked it up; without it such a route is decided at the instance
   * boundary. Ignored by routes that name their namespace.
   */
  owner?: string | null;
  at?: Timestamp;
}

export interface Header {
  name: string;
  value: string;
}

export interface RefUpdate {
  old_id?: string;
  new_id?: string;
  name: string;
  force?: boolean;
}

export type GitService = "upload_pack" | { receive_pack: RefUpdate[] };

export interface GitRequest {
  token: TokenRef;
  project: string;
  service: GitService;
  at?: Timestamp;
}

export type Request = { permission: PermissionRequest } | { http: HttpRequest } | { git: GitRequest };

export type Effect = "allow" | "deny";
export type Boundary = "project" | "group" | "user" | "instance";

/**
 * A reason code: the engine's (WIT `reason-code`, in snake case), or the
 * host's own `engine_failure` (a decision the host could not get or cannot
 * trust, e.g. one naming a permission id outside the engine's names table;
 * always a deny).
 */
export type ReasonCode =
  | "allowed"
  | "token_missing"
  | "token_unknown"
  | "token_revoked"
  | "token_expired"
  | "user_inactive"
  | "malformed_request"
  | "ambiguous_request"
  | "endpoint_unknown"
  | "endpoint_not_for_tokens"
  | "permission_unknown"
  | "namespace_unknown"
  | "scope_excludes_namespace"
  | "token_lacks_permission"
  | "user_lacks_ability"
  | "branch_protected"
  | "tag_protected"
  | "force_push_forbidden"
  | "engine_failure";

export interface Reason {
  code: ReasonCode;
  /**
   * A sentence for people, from `describe` and `explain` (and `engine_failure`);
   * absent (no key) from the checks, which format no text. Never a secret.
   */
  detail?: string;
}

/** The Rust host's decision, field for field. */
export interface Decision {
  effect: Effect;
  reasons: Reason[];
  /** The raw permissions the request needs, by name (`read_branch`). */
  required_permissions: string[];
  /** The assignable permissions containing one of them, by name, in name order. */
  accepted_permissions: string[];
  boundary: Boundary | null;
  namespace: string | null;
  revision: number;
}

/** The names of the permission ids the engine's decisions carry (the bundle's catalog); fixed per load. */
export interface PermissionNames {
  /** Raw permissions (`read_branch`, `push_code`). */
  raw: string[];
  /** Assignable permissions (what a token grant names). */
  assignable: string[];
}

export interface Explanation {
  decision: Decision;
  steps: string[];
}

export interface AccessEntry {
  boundary: Boundary;
  namespace: string | null;
  permissions: string[];
}

export interface TokenReport {
  name: string;
  user: string;
  /** `legacy` or `fine_grained`. */
  kind: string;
  /** `active`, `revoked`, `expired` or `user_inactive`. */
  status: string;
  expires: number | null;
  scopes: string[];
  access: AccessEntry[];
}

export type GrantAccess =
  | "personal_projects"
  | "all_memberships"
  | "user"
  | "instance"
  | { selected_memberships: string[] };

export interface Grant {
  access: GrantAccess;
  permissions: string[];
}

export type TokenKind = { legacy: string[] } | { fine_grained: Grant[] };

export interface NewToken {
  name: string;
  user: string;
  /** SHA-256 of the secret: 32 bytes or 64 hex digits (see Authorizer.digest). */
  digest: Uint8Array | number[] | string;
  kind: TokenKind;
  expires?: Timestamp | null;
}

export interface Membership {
  user: string;
  namespace: string;
  role: string;
  expires?: Timestamp | null;
}

export type Update =
  | { add_token: NewToken }
  | { revoke_token: string }
  | { add_membership: Membership }
  | { remove_membership: [user: string, namespace: string] };

/** An error the engine reported (bundle refused, update failed, token unknown). */
export class FinegrainError extends Error {
  /** `FinegrainError`, or a subclass's name (`EngineFailure`, finegrain-host/sandbox). */
  name: string;
}

export class Authorizer implements Disposable {
  private constructor();
  /** Loads a bundle; rejects with FinegrainError carrying the engine's message. */
  static load(bundle: Uint8Array | ArrayBuffer): Promise<Authorizer>;
  /** Reads and loads a bundle file. */
  static fromFile(path: string | URL): Promise<Authorizer>;
  /** SHA-256 of a token secret. */
  static digest(secret: string): Uint8Array;

  /** The names table, read once when the bundle was loaded (a copy). */
  permissionNames(): PermissionNames;
  /** The checks give reasons without detail. */
  check(request: PermissionRequest): Decision;
  checkHttp(request: HttpRequest): Decision;
  checkGit(request: GitRequest): Decision;
  /** One call for many requests; decisions in request order. */
  checkBatch(requests: Request[]): Decision[];
  /** Any request, routed to check, checkHttp or checkGit. */
  decide(request: Request): Decision;
  /** The same decision as `decide`, with every reason's detail (a 403 body, a CLI). */
  describe(request: Request): Decision;
  /** The described decision, with the engine's steps. */
  explain(request: Request): Explanation;
  /** Throws FinegrainError for an unknown token. */
  inspectToken(token: TokenRef, at?: Timestamp): TokenReport;
  /** All or nothing; returns the new revision; throws FinegrainError. */
  apply(updates: Update[]): number;
  revision(): number;
  dispose(): void;
  [Symbol.dispose](): void;
}
