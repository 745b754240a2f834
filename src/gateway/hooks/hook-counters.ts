import type { HookAction } from '../../policy/snapshot.js';

/** Where a hook runs: before proxying, or on the upstream response. */
export type HookPosition = 'before' | 'after';

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
  /** A hook could not be executed and the request was answered 503 (the gateway fails closed). */
  failed(position: HookPosition): void;
}

/** Counters that count nothing (tests and benchmarks that build an engine without metrics). */
export const UNCOUNTED: HookCounters = Object.freeze({
  consulted: () => undefined,
  executed: () => undefined,
  failed: () => undefined,
});
