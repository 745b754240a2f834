/**
 * Capped exponential backoff with optional full jitter, shared by the supervisor (restarts) and the
 * reconcile loop (retries). Pure: the caller owns the timers.
 */
export interface BackoffOptions {
  /** First delay (ms). */
  initialMs: number;
  /** Largest delay (ms). */
  maxMs: number;
  /** Randomise each delay in [delay/2, delay] so that many retries do not align. */
  jitter?: boolean;
}

/** Delay before attempt number `attempt` (0-based): initial·2^attempt, capped, optionally jittered. */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt, 0), 30);
  const delay = Math.min(options.maxMs, options.initialMs * 2 ** exponent);
  if (!options.jitter) return delay;
  return Math.round(delay / 2 + (random() * delay) / 2);
}
