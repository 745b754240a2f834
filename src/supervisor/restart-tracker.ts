import type { Logger } from '../common/logger.js';
import { backoffDelay, type BackoffOptions } from '../common/backoff.js';

/** Settings of {@link RestartTracker}. */
export interface RestartTrackerOptions extends BackoffOptions {
  /** A run at least this long counts as stable and resets the backoff. */
  stableAfterMs: number;
  /** This many restarts within `stableAfterMs` of each other is reported as a crash loop. */
  crashLoopThreshold: number;
}

/** Default (the control child): 250 ms doubling to 30 s; stable after 60 s. Gateway threads use {@link GATEWAY_THREAD_RESTART_OPTIONS}. */
export const DEFAULT_RESTART_OPTIONS: RestartTrackerOptions = {
  initialMs: 250,
  maxMs: 30_000,
  jitter: false,
  stableAfterMs: 60_000,
  crashLoopThreshold: 5,
};

/**
 * Gateway threads: the same, but doubling to 2 s only. While a thread is down its connections are
 * refused (all of them with one thread), so a long wait is an outage; a restart costs about a
 * tenth of a second of CPU, so even a crash loop at this pace stays cheap. A thread that one
 * request can crash must come back faster than an attacker repeats it (red team 4, F2).
 */
export const GATEWAY_THREAD_RESTART_OPTIONS: RestartTrackerOptions = { ...DEFAULT_RESTART_OPTIONS, maxMs: 2_000 };

/**
 * Decides how long to wait before restarting something that died, with capped exponential
 * backoff, and logs a crash loop loudly so that it is visible to operators.
 */
export class RestartTracker {
  private consecutive = 0;
  private startedAt = Date.now();
  /** False between a failure and the next start: a dead run is never "stable". */
  private running = true;

  constructor(
    private readonly name: string,
    private readonly logger: Logger,
    private readonly options: RestartTrackerOptions = DEFAULT_RESTART_OPTIONS,
  ) {}

  /** Call when the supervised thing (re)starts. */
  started(): void {
    this.startedAt = Date.now();
    this.running = true;
  }

  /**
   * Restarts in the current crash series: 0 once the current run has lasted `stableAfterMs` (a
   * thread that crashed at start-up and has served for a week shows no old crashes on `/status`).
   */
  get restarts(): number {
    return this.running && Date.now() - this.startedAt >= this.options.stableAfterMs ? 0 : this.consecutive;
  }

  /** Call when it died unexpectedly; returns the delay before restarting it (ms). */
  failed(exitCode: number | null, signal: string | null): number {
    this.running = false;
    if (Date.now() - this.startedAt >= this.options.stableAfterMs) this.consecutive = 0;
    const delayMs = backoffDelay(this.consecutive, this.options);
    this.consecutive += 1;
    const fields = { supervised: this.name, exitCode, signal, restart: this.consecutive, delayMs };
    if (this.consecutive >= this.options.crashLoopThreshold) {
      this.logger.error(fields, `${this.name} is crash-looping (${this.consecutive} restarts without a stable run); restarting with backoff`);
    } else {
      this.logger.warn(fields, `${this.name} exited unexpectedly; restarting`);
    }
    return delayMs;
  }
}
