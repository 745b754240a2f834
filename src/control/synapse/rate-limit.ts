/**
 * How `M_LIMIT_EXCEEDED` answers are retried. matrix-corporal slept a fixed 5/10/15/20/25 s and
 * ignored `retry_after_ms`; Corporal waits exactly as long as Synapse asks, within a cap on the
 * number of attempts and on the total time spent waiting for one call.
 */
export interface RateLimitRetryOptions {
  /** Attempts in all, the first included (≥ 1). */
  maxAttempts: number;
  /** Largest total wait for one call; a wait that would exceed it ends the retries. */
  maxTotalWaitMs: number;
  /** Wait used when the answer names no delay. */
  defaultWaitMs: number;
}

/** Defaults: 5 attempts, at most 60 s of waiting, 1 s when Synapse names no delay. */
export const DEFAULT_RATE_LIMIT_RETRY: RateLimitRetryOptions = Object.freeze({ maxAttempts: 5, maxTotalWaitMs: 60_000, defaultWaitMs: 1_000 });

/**
 * The wait Synapse asks for in a rate-limited answer: `retry_after_ms` from the JSON body, else
 * the `Retry-After` header (whole seconds; HTTP dates are not used by Synapse), else `fallbackMs`.
 */
export function rateLimitWaitMs(body: unknown, retryAfterHeader: string | string[] | undefined, fallbackMs: number): number {
  const fromBody = typeof body === 'object' && body !== null ? (body as { retry_after_ms?: unknown }).retry_after_ms : undefined;
  if (typeof fromBody === 'number' && Number.isFinite(fromBody) && fromBody >= 0) return Math.ceil(fromBody);
  const header = Array.isArray(retryAfterHeader) ? retryAfterHeader[0] : retryAfterHeader;
  if (header !== undefined && /^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  return fallbackMs;
}
