import type { SynapseHttp } from './synapse-http.js';

/** Options of {@link RecoveryWatch}. */
export interface RecoveryWatchOptions {
  /** How often Synapse is asked while work waits (`Reconciliation.RetryIntervalMilliseconds`). */
  intervalMs: number;
  /**
   * The longest wait between two recoveries of the same waiting work
   * (`Reconciliation.RetryMaxIntervalMilliseconds`): no longer than the retries' own backoff.
   */
  maxGapMs: number;
  /** Whether Synapse answers now; must not reject ({@link synapseAnswers}). */
  probe: () => Promise<boolean>;
  /** Synapse answered after a probe it did not answer: the waiting work should run now. */
  onRecovered: () => void;
  now?: () => number;
}

/**
 * Notices Synapse coming back while failed work waits out a long backoff.
 *
 * Failed reconciliation, and a failed start of the admin session, are retried on capped
 * exponential backoff, up to `RetryMaxIntervalMilliseconds` (10 minutes by default), so that a
 * Synapse that keeps refusing an action is not hammered. After an outage, that backoff alone would
 * leave Synapse out of step with the policy for up to that long once it is back (soak review 18,
 * S2); matrix-corporal, which retried every `RetryIntervalMilliseconds`, caught up within one
 * interval. So while work waits for longer than one interval, Synapse is asked every interval
 * whether it answers (one unauthenticated GET); a probe that got an answer after one that did
 * not calls `onRecovered` (once per outage). A failure during which Synapse kept answering (an
 * action it refuses) keeps its backoff: the probes never see it down.
 *
 * Recoveries pulled forward for the same waiting work back off too: after the n-th, the next comes
 * no sooner than `intervalMs` × 2ⁿ later, at most `maxGapMs` (a later answer then counts). A front whose `/versions`
 * flaps between a dead and a live upstream while the work keeps failing would otherwise pull every
 * retry forward, one every two intervals, and the retries' own backoff would never grow
 * (verification 19, finding 3). Work that no longer waits starts the count again.
 */
export class RecoveryWatch {
  readonly #options: RecoveryWatchOptions;
  readonly #now: () => number;
  #dueAt: number | null = null;
  /** A probe got no answer since the work began to wait. */
  #sawDown = false;
  #timer: NodeJS.Timeout | null = null;
  #probing = false;
  #stopped = false;
  /** Recoveries reported since work began to wait, and when the last one was. */
  #recoveries = 0;
  #lastRecoveryAt = -Infinity;

  constructor(options: RecoveryWatchOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Work waits until `dueAt` (epoch ms; a time already past means it is running); `null`: nothing
   * waits, which also forgets a probe that got no answer. Call it whenever the wait changes.
   */
  waitUntil(dueAt: number | null): void {
    this.#dueAt = dueAt;
    if (dueAt !== null) {
      this.#schedule();
      return;
    }
    this.#sawDown = false;
    this.#recoveries = 0;
    this.#lastRecoveryAt = -Infinity;
    this.#clearTimer();
  }

  /** No more probes; a probe in flight is ignored when it ends. Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#clearTimer();
  }

  #schedule(): void {
    if (this.#stopped || this.#timer !== null || this.#probing) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#tick();
    }, this.#options.intervalMs).unref();
  }

  async #tick(): Promise<void> {
    // Work that runs within one interval anyway needs no probe; the next waitUntil() re-arms.
    if (this.#stopped || this.#dueAt === null || this.#dueAt - this.#now() <= this.#options.intervalMs) return;
    this.#probing = true;
    let answers: boolean;
    try {
      answers = await this.#options.probe();
    } finally {
      this.#probing = false;
    }
    if (this.#stopped || this.#dueAt === null) return;
    if (!answers) this.#sawDown = true;
    else if (this.#sawDown && this.#now() - this.#lastRecoveryAt >= Math.min(this.#options.intervalMs * 2 ** this.#recoveries, this.#options.maxGapMs)) {
      this.#sawDown = false;
      this.#recoveries += 1;
      this.#lastRecoveryAt = this.#now();
      this.#options.onRecovered();
    }
    this.#schedule();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/**
 * Whether Synapse's client API answers: `GET /_matrix/client/versions` (no token, no database
 * work) gets a 2xx answer within the client's time limit. Never rejects.
 */
export async function synapseAnswers(http: SynapseHttp): Promise<boolean> {
  try {
    await http.request({ call: 'client.versions', method: 'GET', path: '/_matrix/client/versions', retryRateLimited: false });
    return true;
  } catch {
    return false;
  }
}
