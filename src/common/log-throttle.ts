/**
 * Lets a log line through at most once per interval and counts the ones held back, so that an
 * event a client can trigger at will (a refused request) cannot flood the log.
 */
import type { Logger } from './logger.js';

/** A warning a client can trigger at will is logged at most once per this interval per thread. */
export const CLIENT_TRIGGERED_LOG_INTERVAL_MS = 10_000;

/** See the module comment. Not thread-safe by design: one per gateway thread. */
export class LogThrottle {
  #lastEmitted = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  /** At most one line per `intervalMs`; `now` is a monotonic millisecond clock (tests pass their own). */
  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Records one event. Returns null when its line must be dropped; otherwise how many events were
   * dropped since the last line that went through (log it with the line), and restarts the interval.
   */
  admit(): number | null {
    const now = this.now();
    if (now - this.#lastEmitted < this.intervalMs) {
      this.#suppressed++;
      return null;
    }
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#lastEmitted = now;
    return suppressed;
  }
}

/**
 * Logs `msg` at warn level with `fields` plus `suppressed` (the events held back since the last
 * line) when `throttle` lets it through; otherwise only counts the event.
 */
export function warnThrottled(throttle: LogThrottle, logger: Logger, fields: Record<string, unknown>, msg: string): void {
  const suppressed = throttle.admit();
  if (suppressed !== null) logger.warn({ ...fields, suppressed }, msg);
}
