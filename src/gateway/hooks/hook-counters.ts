import type { HookAction } from '../../policy/snapshot.js';

/** Where a hook runs: before proxying, or on the upstream response. */
export type HookPosition = 'before' | 'after';

/**
 * Why a hook could not be executed: `client` when what the client sent made it fail (a body that
 * is not a JSON object for a JSON injection; any client can cause that on every request), `other`
 * for the policy, a REST service or Synapse's response (what an operator must look at).
 */
export type HookFailureCause = 'client' | 'other';

/**
 * What a thread's hook engine tells its request metrics. Each method is a few additions into the
 * thread's region of the shared table; none may throw.
 */
export interface HookCounters {
  /** A REST consultation ended: `ok` when the service gave a hook. */
  consulted(ok: boolean): void;
  /**
   * A hook was executed, one yielded by a REST service (or a contingency or async-result hook)
   * included: a consultation that yields `reject` counts once as `consult.RESTServiceURL` and once
   * as `reject`.
   */
  executed(position: HookPosition, action: HookAction): void;
  /**
   * A hook could not be executed, so the gateway failed closed: the request is answered 503 (unless
   * its client has left). A `pass.modifiedResponse` that a REST service yielded to a before-hook
   * is executed `before` but applied to the response, so its failure counts `after`.
   */
  failed(position: HookPosition, cause: HookFailureCause): void;
}

/** Counters that count nothing (tests and benchmarks that build an engine without metrics). */
export const UNCOUNTED: HookCounters = Object.freeze({
  consulted: () => undefined,
  executed: () => undefined,
  failed: () => undefined,
});
