import { backoffDelay } from '../common/backoff.js';
import type { CorporalConfig } from '../common/config/types.js';
import { describeError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import { changedUserIds } from './loop/changed-users.js';
import { startReconciler, type Reconciler } from './loop/create-reconciler.js';
import type { LoopStatus } from './loop/run-summary.js';
import { RecoveryWatch, synapseAnswers } from './synapse/recovery-watch.js';
import { SynapseHttp } from './synapse/synapse-http.js';

/** What {@link ReconcilerHost} needs. */
export interface ReconcilerHostOptions {
  config: Pick<CorporalConfig, 'Matrix' | 'Corporal' | 'Reconciliation'>;
  logger: Logger;
  now?: () => number;
  random?: () => number;
  /** Passed to the loop (`ReconcileLoopOptions.gatewayCaughtUp`): the control child waits for the gateway threads. */
  gatewayCaughtUp?: (generation: number, signal: AbortSignal) => Promise<boolean>;
}

/**
 * `starting`: opening the admin session; `waiting`: the last attempt failed, the next one is
 * scheduled; `ready`: the loop runs; `stopped`: closed.
 */
export type ReconcilerState = 'starting' | 'waiting' | 'ready' | 'stopped';

/** What {@link ReconcilerHost.status} reports (epoch ms times). */
export interface ReconcilerHostStatus {
  state: ReconcilerState;
  /** When the admin session opened (null until it did). */
  readyAt: number | null;
  /** Failed start attempts in a row (0 once ready). */
  failedAttempts: number;
  /**
   * Why the last attempt failed; kept after success for the record until the next failure. Once
   * ready: why the open session no longer works (a refused `Corporal.AccessToken`), when it does not.
   */
  lastError: { at: number; message: string } | null;
  /** When the next attempt runs (`waiting` only). */
  nextAttemptAt: number | null;
  /** The loop's own status once ready. */
  loop: LoopStatus | null;
}

/**
 * Owns the reconciler's life in the control child. The reconciler needs the admin session, and
 * that needs Synapse: when Synapse is down or refuses the admin at start, the child must keep
 * running (policy store, gateway snapshots and the HTTP API do not depend on Synapse, and a crash
 * loop would help nobody), so start attempts are retried with capped exponential backoff and
 * jitter (`Reconciliation.RetryIntervalMilliseconds` doubling up to `RetryMaxIntervalMilliseconds`)
 * and the error is reported in status. While the next attempt is more than one
 * `RetryIntervalMilliseconds` away, a {@link RecoveryWatch} probes Synapse every interval and
 * makes the attempt at once when Synapse answers again after it did not (a Synapse that is still
 * starting, migrating its database, when Corporal starts).
 *
 * Policies arriving before the reconciler is ready are remembered (only the newest matters); once
 * ready, the loop gets it with a full pass. Afterwards each new policy goes to the loop with the
 * users it changed (`changedUserIds`).
 */
export class ReconcilerHost {
  readonly #options: ReconcilerHostOptions;
  readonly #now: () => number;
  #state: ReconcilerState = 'starting';
  #reconciler: Reconciler | null = null;
  #latest: PolicySnapshot | null = null;
  #failedAttempts = 0;
  #lastError: { at: number; message: string } | null = null;
  #readyAt: number | null = null;
  #nextAttemptAt: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  #attempt: Promise<void> | null = null;
  #closed: Promise<void> | null = null;
  #stopped = false;
  readonly #recovery: RecoveryWatch;
  /** The probes' own one-connection client, while start attempts wait (the reconciler's is built by an attempt). */
  #probeHttp: SynapseHttp | null = null;

  constructor(options: ReconcilerHostOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#recovery = new RecoveryWatch({
      intervalMs: options.config.Reconciliation.RetryIntervalMilliseconds,
      maxGapMs: options.config.Reconciliation.RetryMaxIntervalMilliseconds,
      probe: () => synapseAnswers(this.#probeClient()),
      onRecovered: () => this.#attemptNow(),
      now: this.#now,
    });
  }

  /** Makes the first start attempt (in the background; failures are retried, never thrown). */
  start(): void {
    if (this.#attempt === null && !this.#stopped) this.#attempt = this.#tryStart();
  }

  /** The running reconciler, or null while the admin session is not open. */
  get reconciler(): Reconciler | null {
    return this.#reconciler;
  }

  /** The store's change listener: `previous` is null for the first policy of this process. */
  onPolicy(previous: PolicySnapshot | null, next: PolicySnapshot): void {
    this.#latest = next;
    this.#reconciler?.loop.onPolicy(next, changedUserIds(previous, next));
  }

  /** Why the reconciler is not ready (for 503 answers), or null when it is. */
  unavailableReason(): string | null {
    if (this.#state === 'ready') return null;
    if (this.#state === 'stopped') return 'the reconciler is stopped';
    if (this.#lastError === null) return 'the admin session is being opened';
    return `the admin session could not be opened: ${this.#lastError.message}`;
  }

  /** A copy of the host's state for `/status`: lifecycle state, when it became ready, failed session attempts, the last error. */
  status(): ReconcilerHostStatus {
    return {
      state: this.#state,
      readyAt: this.#readyAt,
      failedAttempts: this.#failedAttempts,
      // A session that opened and then broke for good (a refused Corporal.AccessToken) is the error to show.
      lastError: this.#reconciler?.session.failure() ?? this.#lastError,
      nextAttemptAt: this.#nextAttemptAt,
      loop: this.#reconciler?.loop.status() ?? null,
    };
  }

  /**
   * Stops retrying and closes the reconciler: the loop starts no new action and waits for those in
   * flight, the admin session is logged out, connections close. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#stopped = true;
      this.#state = 'stopped';
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      this.#nextAttemptAt = null;
      await this.#stopProbes();
      await this.#attempt;
      const reconciler = this.#reconciler;
      this.#reconciler = null;
      await reconciler?.close();
    })();
    return this.#closed;
  }

  async #tryStart(): Promise<void> {
    const { config, logger, gatewayCaughtUp } = this.#options;
    this.#state = 'starting';
    this.#nextAttemptAt = null;
    let reconciler: Reconciler;
    try {
      reconciler = await startReconciler({ config, logger, ...(gatewayCaughtUp ? { gatewayCaughtUp } : {}) });
    } catch (err) {
      if (this.#stopped) return;
      this.#scheduleRetry(err);
      return;
    }
    if (this.#stopped) {
      await reconciler.close();
      return;
    }
    // Not awaited: close() may run meanwhile, and it awaits this attempt.
    void this.#stopProbes();
    this.#reconciler = reconciler;
    this.#state = 'ready';
    this.#readyAt = this.#now();
    logger.info({ failedAttempts: this.#failedAttempts }, 'reconciler ready');
    this.#failedAttempts = 0;
    if (this.#latest !== null) reconciler.loop.onPolicy(this.#latest, 'all');
  }

  #scheduleRetry(err: unknown): void {
    const { Reconciliation } = this.#options.config;
    const delayMs = backoffDelay(
      this.#failedAttempts,
      { initialMs: Reconciliation.RetryIntervalMilliseconds, maxMs: Reconciliation.RetryMaxIntervalMilliseconds, jitter: true },
      this.#options.random,
    );
    this.#failedAttempts += 1;
    const now = this.#now();
    this.#lastError = { at: now, message: describeError(err) };
    this.#nextAttemptAt = now + delayMs;
    this.#state = 'waiting';
    this.#options.logger.error(
      { err: this.#lastError.message, failedAttempts: this.#failedAttempts, retryInMs: delayMs },
      'reconciler cannot start (admin session); will retry',
    );
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#attempt = this.#tryStart();
    }, delayMs);
    this.#recovery.waitUntil(this.#nextAttemptAt);
  }

  /** Synapse answers again: the waiting start attempt is made now. */
  #attemptNow(): void {
    if (this.#stopped || this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#options.logger.info({ failedAttempts: this.#failedAttempts }, 'Synapse answers again; opening the admin session now');
    this.#attempt = this.#tryStart();
  }

  #probeClient(): SynapseHttp {
    const { Matrix } = this.#options.config;
    this.#probeHttp ??= new SynapseHttp({
      baseUrl: Matrix.HomeserverApiEndpoint,
      timeoutMs: Matrix.TimeoutMilliseconds,
      connections: 1,
      socketPath: Matrix.HomeserverApiSocketPath,
      logger: this.#options.logger,
    });
    return this.#probeHttp;
  }

  async #stopProbes(): Promise<void> {
    this.#recovery.stop();
    const http = this.#probeHttp;
    this.#probeHttp = null;
    await http?.close();
  }
}
