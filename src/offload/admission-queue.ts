/**
 * The waiting line in front of an offload pool: at most `concurrency` tasks handed to the workers,
 * of which at most `cpuConcurrency` CPU-bound ones, and at most `maxQueue` waiting. Waiting tasks
 * start oldest first among those that can start: an I/O task overtakes CPU-bound ones waiting for
 * a CPU slot, never another I/O task. A waiting task leaves the line when its caller's
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
  /**
   * The task keeps a worker's CPU busy for its whole run (a bcrypt check): it also needs one of
   * the `cpuConcurrency` CPU slots. Other tasks (I/O: REST calls) overtake it while it waits.
   */
  cpuBound?: boolean | undefined;
}

interface Waiting {
  readonly cpuBound: boolean;
  readonly start: () => void;
  readonly refuse: (reason: AdmissionRefusalReason) => void;
}

/** See the module comment. One per pool; single-threaded (a gateway thread's event loop). */
export class AdmissionQueue {
  /** Insertion-ordered: the first entry is the oldest; removal from the middle is O(1). */
  readonly #waiting = new Set<Waiting>();
  #running = 0;
  #cpuRunning = 0;

  /**
   * `concurrency` ≥ 1 tasks at once, of which at most `cpuConcurrency` ≥ 1 CPU-bound ones (default:
   * no separate limit); `maxQueue` ≥ 0 tasks waiting beyond them.
   *
   * Why CPU-bound tasks get their own limit: a worker interleaves its tasks, which suits REST calls
   * (they wait on the network) but not hashes. 32 bcrypt checks handed to one worker at once all
   * finish together, after 32 times the time of one, and none of the queue's bounds applies to
   * them. With `cpuConcurrency` = the pool's threads, a hash runs about as fast as alone and the
   * rest wait (bounded). Which worker runs one is Piscina's choice (the least busy), so under mixed
   * REST and bcrypt load two may still share a worker for a while.
   */
  constructor(
    private readonly concurrency: number,
    private readonly maxQueue: number,
    private readonly cpuConcurrency: number = concurrency,
  ) {}

  /** Tasks waiting for a slot. */
  get size(): number {
    return this.#waiting.size;
  }

  /** Tasks holding a slot (started, not yet settled). */
  get running(): number {
    return this.#running;
  }

  /** Tasks holding a CPU slot (diagnostics and tests). */
  get cpuRunning(): number {
    return this.#cpuRunning;
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
    const cpuBound = options.cpuBound === true;
    if (signal?.aborted) return Promise.reject(new AdmissionRefusal('aborted'));
    // No waiting task could start now (#next starts every one that can), so a task that can start
    // overtakes only tasks that cannot: CPU-bound ones waiting for a CPU slot.
    if (this.#canStart(cpuBound)) return this.#start(task, signal, cpuBound);
    if (this.#waiting.size >= this.maxQueue) return Promise.reject(new AdmissionRefusal('full'));
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const leave = (): void => {
        this.#waiting.delete(entry);
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const entry: Waiting = {
        cpuBound,
        start: () => {
          leave();
          this.#start(task, signal, cpuBound).then(resolve, reject);
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

  #canStart(cpuBound: boolean): boolean {
    return this.#running < this.concurrency && (!cpuBound || this.#cpuRunning < this.cpuConcurrency);
  }

  async #start<T>(task: () => Promise<T>, signal: AbortSignal | undefined, cpuBound: boolean): Promise<T> {
    this.#running++;
    if (cpuBound) this.#cpuRunning++;
    try {
      const result = await task();
      if (signal?.aborted) throw new AdmissionRefusal('aborted');
      return result;
    } finally {
      this.#running--;
      if (cpuBound) this.#cpuRunning--;
      this.#next();
    }
  }

  /** Hands the freed slots to the oldest waiting tasks that can start. */
  #next(): void {
    for (const entry of this.#waiting) {
      if (this.#running >= this.concurrency) return;
      if (this.#canStart(entry.cpuBound)) entry.start();
    }
  }
}
