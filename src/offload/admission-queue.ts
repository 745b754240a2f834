/**
 * The waiting line in front of an offload pool: at most `concurrency` tasks handed to the workers,
 * at most `maxQueue` waiting, in FIFO order. A waiting task leaves the line when its caller's
 * abort signal fires or its wait deadline passes, so that it never runs.
 *
 * Why the pool does not use Piscina's own queue for this: Piscina's `signal` also aborts a
 * *running* task by terminating its worker thread, which would fail every other task on that worker
 * (up to `ConcurrentTasksPerWorker` checks of other users). Keeping the waiting tasks here, and
 * handing Piscina only what it can run at once, lets a departed client's task be dropped while it
 * waits, and only while it waits.
 */

/** Why {@link AdmissionQueue.run} gave up on a task before it started. */
export type AdmissionRefusalReason =
  /** The line is full (`maxQueue` tasks waiting). */
  | 'full'
  /** The caller's signal was aborted before the task started (or while it ran: its result is dropped). */
  | 'aborted'
  /** The task waited longer than its `maxWaitMs`. */
  | 'expired';

/** The rejection of {@link AdmissionQueue.run} for a task that did not run (or whose result was dropped). */
export class AdmissionRefusal extends Error {
  constructor(readonly reason: AdmissionRefusalReason) {
    super(`offload task not admitted: ${reason}`);
    this.name = 'AdmissionRefusal';
  }
}

/** Per-task options of {@link AdmissionQueue.run}. */
export interface AdmissionOptions {
  /** Aborted when nobody wants the result any more (the client left). */
  signal?: AbortSignal | undefined;
  /** Longest time the task may wait for a slot; unbounded when absent. */
  maxWaitMs?: number | undefined;
}

interface Waiting {
  readonly start: () => void;
  readonly refuse: (reason: AdmissionRefusalReason) => void;
}

/** See the module comment. One per pool; single-threaded (a gateway thread's event loop). */
export class AdmissionQueue {
  /** Insertion-ordered: the first entry is the oldest; removal from the middle is O(1). */
  readonly #waiting = new Set<Waiting>();
  #running = 0;

  /** `concurrency` ≥ 1 tasks at once; `maxQueue` ≥ 0 tasks waiting beyond them. */
  constructor(
    private readonly concurrency: number,
    private readonly maxQueue: number,
  ) {}

  /** Tasks waiting for a slot. */
  get size(): number {
    return this.#waiting.size;
  }

  /** Tasks holding a slot (started, not yet settled). */
  get running(): number {
    return this.#running;
  }

  /**
   * Calls `task` once a slot is free and settles with its result. Rejects with an
   * {@link AdmissionRefusal} and never calls `task` when the line is full, when `options.signal`
   * is (or becomes) aborted while the task waits, or when it waited `options.maxWaitMs`.
   *
   * A task that already runs is never interrupted: if the signal fires meanwhile, this settles
   * once the task has finished (the slot stays taken until then, so the pool is never
   * oversubscribed) and rejects with `aborted`, dropping the result.
   */
  run<T>(task: () => Promise<T>, options: AdmissionOptions = {}): Promise<T> {
    const { signal, maxWaitMs } = options;
    if (signal?.aborted) return Promise.reject(new AdmissionRefusal('aborted'));
    if (this.#running < this.concurrency && this.#waiting.size === 0) return this.#start(task, signal);
    if (this.#waiting.size >= this.maxQueue) return Promise.reject(new AdmissionRefusal('full'));
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const leave = (): void => {
        this.#waiting.delete(entry);
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const entry: Waiting = {
        start: () => {
          leave();
          this.#start(task, signal).then(resolve, reject);
        },
        refuse: (reason) => {
          leave();
          reject(new AdmissionRefusal(reason));
        },
      };
      const onAbort = (): void => entry.refuse('aborted');
      this.#waiting.add(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (maxWaitMs !== undefined && Number.isFinite(maxWaitMs)) {
        timer = setTimeout(() => entry.refuse('expired'), Math.max(0, maxWaitMs));
      }
    });
  }

  async #start<T>(task: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    this.#running++;
    try {
      const result = await task();
      if (signal?.aborted) throw new AdmissionRefusal('aborted');
      return result;
    } finally {
      this.#running--;
      this.#next();
    }
  }

  /** Hands the freed slot to the oldest waiting task. */
  #next(): void {
    if (this.#running >= this.concurrency) return;
    const first = this.#waiting.values().next();
    if (!first.done) first.value.start();
  }
}
