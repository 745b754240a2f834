/**
 * The Piscina pools a gateway thread owns, off the gateway's event loop: one at idle priority for
 * password checks and `rest` auth calls, one at normal priority for hook consultations (see
 * {@link WorkerPriority}).
 */
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { CorporalError, describeError } from '../common/errors.js';
import { ErrCode } from '../common/matrix-errors.js';
import type { Logger } from '../common/logger.js';
import type { OffloadConfig } from '../common/config/types.js';
import { isCpuBound, type TaskInput, type TaskKind, type TaskOutput, type TaskRequest } from './task-types.js';
import { AdmissionQueue, AdmissionRefusal } from './admission-queue.js';

/** The pool's queue is full: answer 503 with `Retry-After` rather than queue without bound. */
export const OFFLOAD_BUSY = 'CORP_ERR_OFFLOAD_BUSY';
/** The pool was closed (the thread is draining): 503. */
export const OFFLOAD_CLOSED = 'CORP_ERR_OFFLOAD_CLOSED';
/** A task threw or its worker died: a bug, 500. */
export const OFFLOAD_TASK_FAILED = 'CORP_ERR_OFFLOAD_TASK_FAILED';
/** The caller's signal was aborted (its client left): the task never ran, or its result was dropped. Nothing to answer. */
export const OFFLOAD_ABORTED = 'CORP_ERR_OFFLOAD_ABORTED';
/** The task waited for a worker longer than the caller's `maxWaitMs` and was dropped unrun: 503. */
export const OFFLOAD_WAIT_EXPIRED = 'CORP_ERR_OFFLOAD_WAIT_EXPIRED';

/**
 * The pool's worker module, next to this file in the compiled output: the CommonJS shim in front of
 * tasks.ts (tasks-entry.cts says why Piscina must not `require()` an ES module).
 */
const TASKS_FILE = new URL('./tasks-entry.cjs', import.meta.url).href;

/**
 * Piscina 5's rejection messages for a full queue (`maxQueue` > 0, and `maxQueue` = 0). Its errors
 * carry no code and `Errors` is not exported at runtime, so the message is all there is; the pool
 * tests pin these strings against the installed version.
 */
const QUEUE_FULL_MESSAGES: ReadonlySet<string> = new Set(['Task queue is at limit', 'No task queue available and all Workers are busy']);

/** {@link OFFLOAD_BUSY}, with how long the client should wait before retrying. */
export class OffloadBusyError extends CorporalError {
  /** Seconds for the `Retry-After` header. */
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super(OFFLOAD_BUSY, 'the offload pool is busy; retry later', { source: 'internal', status: 503, errcode: ErrCode.Unknown, retryable: true });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Per-call options of {@link OffloadPool.run}. */
export interface OffloadRunOptions {
  /**
   * Aborted when the result is no longer wanted (the client left). A waiting task is then removed
   * from the queue and never runs; a running one is not interrupted (that would terminate its
   * worker and every other task on it), its result is dropped.
   */
  signal?: AbortSignal | undefined;
  /** Longest wait for a worker slot (not counting the run itself); unbounded when absent. */
  maxWaitMs?: number | undefined;
}

/** A gateway thread's handle on its pool. */
export interface OffloadPool {
  /**
   * Runs task `kind` in a pool worker and resolves with its result (expected failures are `ok:
   * false` results). Rejects with a `CorporalError`: {@link OFFLOAD_BUSY} (an
   * {@link OffloadBusyError}) when the queue is full, {@link OFFLOAD_CLOSED} after `close()`,
   * {@link OFFLOAD_TASK_FAILED} when the task threw or its worker died, {@link OFFLOAD_ABORTED}
   * when `options.signal` was aborted, {@link OFFLOAD_WAIT_EXPIRED} after `options.maxWaitMs` in
   * the queue.
   *
   * Settles only once the pool no longer holds the task (a running task is awaited even when the
   * signal fired), so callers may count their tasks in the pool by counting unsettled calls.
   */
  run<K extends TaskKind>(kind: K, input: TaskInput<K>, options?: OffloadRunOptions): Promise<TaskOutput<K>>;
  /** Tasks waiting for a worker. */
  readonly queueSize: number;
  /** The pool's worker threads (diagnostics and tests). */
  readonly threads: readonly Worker[];
  /** Terminates every worker; pending and running tasks reject with {@link OFFLOAD_CLOSED}. Idempotent. */
  close(): Promise<void>;
}

/**
 * The CPU priority of a pool's workers.
 *
 * - `idle` (default): Linux `SCHED_IDLE` (or nice + 10), for CPU-heavy work that must yield to
 *   proxying — a storm of bcrypt checks takes only the CPU the gateway threads leave.
 * - `normal`: the gateway thread's own priority, for short I/O-bound work a request is waiting on
 *   (hook consultations). At idle priority it would get no CPU while the gateway threads are busy,
 *   so every consulted request would wait for the very load it is part of (measured on 2 cores at
 *   saturation, bench `hook-consult-pooled`: about 5,100 req/s with p99 25 ms at idle priority,
 *   8,900 req/s with p99 14 ms at normal priority).
 */
export type WorkerPriority = 'idle' | 'normal';

/** What a pool worker receives as Piscina's `workerData` (src/offload/tasks.ts). */
export interface OffloadWorkerData {
  priority: WorkerPriority;
}

/** Options of {@link createOffloadPool} that are not operator configuration. */
export interface OffloadPoolOptions {
  /** Receives worker failures that belong to no task (a worker that crashed between tasks). */
  logger: Logger;
  /** `Retry-After` hint of {@link OffloadBusyError}. Default 1. */
  retryAfterSeconds?: number;
  /** Its workers' CPU priority. Default `idle`. */
  priority?: WorkerPriority;
}

/**
 * Builds a pool from `Offload` (both pools of a thread use the same settings): `Threads` workers,
 * started at once and kept (min = max, so the idle timeout never shrinks the pool),
 * `ConcurrentTasksPerWorker` tasks per worker (REST calls are I/O and interleave), at most `Threads`
 * bcrypt checks at once in the whole pool, and at most `MaxQueue` waiting tasks;
 * `options.priority` sets the workers' CPU priority.
 *
 * Waiting tasks wait in an {@link AdmissionQueue}, not in Piscina: Piscina is only ever given as
 * many tasks as its workers run at once (its own queue holds them just while a worker starts), so
 * a waiting task can be dropped when its caller goes away.
 *
 * `atomics: 'disabled'`: with Piscina's default, an idle worker blocks in `Atomics.wait`, which also
 * freezes its event loop, so keep-alive sockets to auth services would go unserviced between tasks
 * and a closed one be reused before its close event is seen. Message-port delivery keeps the event
 * loop running; the microseconds it costs do not matter next to a hash or an HTTP call.
 */
export function createOffloadPool(config: OffloadConfig, options: OffloadPoolOptions): OffloadPool {
  const priority = options.priority ?? 'idle';
  const capacity = config.Threads * config.ConcurrentTasksPerWorker;
  const piscina = new Piscina<TaskRequest, unknown>({
    filename: TASKS_FILE,
    name: 'default',
    workerData: { priority } satisfies OffloadWorkerData,
    minThreads: config.Threads,
    maxThreads: config.Threads,
    // Never reached: the admission queue hands over at most `capacity` tasks at a time.
    maxQueue: capacity,
    concurrentTasksPerWorker: config.ConcurrentTasksPerWorker,
    idleTimeout: 60_000,
    atomics: 'disabled',
  });
  // Piscina replaces a worker that dies; its running tasks reject on their own. What is left to do
  // is to say so (an EventEmitter 'error' without a listener would throw in the gateway thread).
  piscina.on('error', (err: unknown) => options.logger.error({ err: describeError(err) }, 'offload worker failed'));
  // bcrypt checks: at most `Threads` at once in the whole pool (admission-queue.ts says why).
  // Piscina's least-busy balancer still places them: beside REST calls, two can share a worker.
  return new PiscinaOffloadPool(piscina, new AdmissionQueue(capacity, config.MaxQueue, config.Threads), options.retryAfterSeconds ?? 1);
}

class PiscinaOffloadPool implements OffloadPool {
  readonly #piscina: Piscina<TaskRequest, unknown>;
  readonly #admission: AdmissionQueue;
  readonly #retryAfterSeconds: number;
  #closing: Promise<void> | null = null;

  constructor(piscina: Piscina<TaskRequest, unknown>, admission: AdmissionQueue, retryAfterSeconds: number) {
    this.#piscina = piscina;
    this.#admission = admission;
    this.#retryAfterSeconds = retryAfterSeconds;
  }

  get queueSize(): number {
    return this.#admission.size + this.#piscina.queueSize;
  }

  get threads(): readonly Worker[] {
    return this.#piscina.threads;
  }

  async run<K extends TaskKind>(kind: K, input: TaskInput<K>, options: OffloadRunOptions = {}): Promise<TaskOutput<K>> {
    if (this.#closing) throw closedError();
    const request: TaskRequest<K> = { kind, input };
    try {
      return (await this.#admission.run(() => this.#piscina.run(request), { ...options, cpuBound: isCpuBound(request) })) as TaskOutput<K>;
    } catch (err) {
      if (this.#closing) throw closedError(err);
      if (err instanceof AdmissionRefusal) throw this.#refusalError(err, kind);
      if (err instanceof Error && QUEUE_FULL_MESSAGES.has(err.message)) throw new OffloadBusyError(this.#retryAfterSeconds);
      throw new CorporalError(OFFLOAD_TASK_FAILED, `offload task ${kind} failed`, { source: 'internal', status: 500, cause: err });
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#piscina.destroy();
    return this.#closing;
  }

  #refusalError(refusal: AdmissionRefusal, kind: TaskKind): CorporalError {
    switch (refusal.reason) {
      case 'full':
        return new OffloadBusyError(this.#retryAfterSeconds);
      case 'aborted':
        return new CorporalError(OFFLOAD_ABORTED, `offload task ${kind} abandoned by its caller`, { source: 'client', status: 499 });
      case 'expired':
        return new CorporalError(OFFLOAD_WAIT_EXPIRED, `offload task ${kind} waited too long for a worker`, {
          source: 'internal',
          status: 503,
          errcode: ErrCode.Unknown,
          retryable: true,
        });
    }
  }
}

function closedError(cause?: unknown): CorporalError {
  return new CorporalError(OFFLOAD_CLOSED, 'the offload pool is closed', { source: 'internal', status: 503, retryable: true, cause });
}
