import { setFlagsFromString } from 'node:v8';

/** Mirrors V8's flags, which are process-wide: hence module state, set once, never reset. */
let enabled = false;

/** Backtracks of one match after which V8 finishes it on the linear-time engine. */
const BACKTRACKS_BEFORE_FALLBACK = 1000;

/**
 * Turns on V8's linear-time regular-expression engine for this process, every thread included
 * (V8 flags are per process): any `RegExp` that backtracks too much ({@link BACKTRACKS_BEFORE_FALLBACK}
 * times) finishes on the linear-time engine instead, and the `l` flag becomes usable, which
 * {@link isLinearTimeEligible} relies on. Idempotent; call it before serving.
 *
 * Why: hook match rules are written for Go's RE2 (matrix-corporal), which matches any pattern in
 * linear time, so authors never had to avoid patterns like `(\w|\d)*`. On a backtracking engine
 * one crafted request path makes such a rule run for minutes and blocks a gateway thread (red
 * team 8, F1). A pattern the linear engine cannot run is refused at validation when it could blow
 * up (see `translateRe2`).
 */
export function enableLinearRegExpEngine(): void {
  if (enabled) return;
  setFlagsFromString('--enable-experimental-regexp-engine');
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  // V8's default, 50,000 backtracks, still cost a crafted request about 13 ms per rule before the
  // switch; at 1,000 it is well under a millisecond, and ordinary matches never come near it.
  setFlagsFromString(`--regexp-backtracks-before-fallback=${BACKTRACKS_BEFORE_FALLBACK}`);
  enabled = true;
}

/**
 * Whether V8 can run `new RegExp(source, flags)` on its linear-time engine, so that the fallback
 * of {@link enableLinearRegExpEngine} protects it. It cannot for the `i` and `u` flags, lookaround
 * and very large repeat counts. Turns the engine on first.
 */
export function isLinearTimeEligible(source: string, flags: string): boolean {
  enableLinearRegExpEngine();
  try {
    new RegExp(source, `${flags}l`);
    return true;
  } catch {
    return false;
  }
}
