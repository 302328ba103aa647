// Types of sandbox.js: the engine in a worker thread, under a deadline per call
// and a memory limit per instance. Requests and decisions are those of index.d.ts.
import type { Decision, Explanation, FinegrainError, GitRequest, HttpRequest, PermissionNames, PermissionRequest, Request, Timestamp, TokenRef, TokenReport, Update } from "./index.js";

/** The smallest default memory limit per instance: 512 MiB. */
export const MEMORY_FLOOR: number;
/** The largest memory a 32-bit guest can address: 4 GiB. */
export const MEMORY_CEILING: number;
/** Default memory per bundle byte. */
export const MEMORY_PER_BUNDLE_BYTE: number;
/** Default longest guest call, in milliseconds. */
export const CALL_DEADLINE_MS: number;
/** Default longest bundle load, in milliseconds. */
export const LOAD_DEADLINE_MS: number;
/** Longest reason detail passed on (from describe and explain), in bytes. */
export const MAX_DETAIL: number;
/** Most reasons per decision. */
export const MAX_REASONS: number;
/** Most explanation steps. */
export const MAX_STEPS: number;

/** The first line of `text`, cut to at most MAX_DETAIL bytes. */
export function oneLine(text: string): string;

/** The engine broke during a call that cannot fail closed (inspectToken, apply, load). */
export class EngineFailure extends FinegrainError {
  name: "EngineFailure";
}

export interface SandboxOptions {
  /** Largest linear memory per instance, in bytes; default max(512 MiB, 16 × bundle size), at most 4 GiB. */
  memoryLimit?: number;
  /** Longest call, in milliseconds (default 1000). */
  callDeadlineMs?: number;
  /** Longest load, in milliseconds (default 60000). */
  loadDeadlineMs?: number;
  /** Directory of a transpiled component (default: this package's generated/). */
  generated?: string | URL;
}

/** Same calls as Authorizer, each returning a promise; checks fail closed with `engine_failure`. */
export class SandboxedAuthorizer {
  private constructor();
  static load(bundle: Uint8Array | ArrayBuffer, options?: SandboxOptions): Promise<SandboxedAuthorizer>;
  static fromFile(path: string | URL, options?: SandboxOptions): Promise<SandboxedAuthorizer>;
  /** The names table of the current instance (read again whenever a fresh one is loaded). */
  permissionNames(): Promise<PermissionNames>;
  check(request: PermissionRequest): Promise<Decision>;
  checkHttp(request: HttpRequest): Promise<Decision>;
  checkGit(request: GitRequest): Promise<Decision>;
  /** An entry that breaks the engine denies only itself. */
  checkBatch(requests: Request[]): Promise<Decision[]>;
  decide(request: Request): Promise<Decision>;
  /** The same decision as `decide`, with every reason's detail. */
  describe(request: Request): Promise<Decision>;
  explain(request: Request): Promise<Explanation>;
  inspectToken(token: TokenRef, at?: Timestamp): Promise<TokenReport>;
  apply(updates: Update[]): Promise<number>;
  revision(): number;
  /** Stops the worker (an idle worker never keeps the process alive). */
  close(): Promise<void>;
}
