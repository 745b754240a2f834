import { Worker } from 'node:worker_threads';
import type { CorporalConfig } from '../common/config/types.js';
import type { Logger } from '../common/logger.js';
import { describeError } from '../common/errors.js';
import { settleWithin } from '../common/deadline.js';
import {
  IPC_VERSION, allMessageTypes, ipcMessage, isIpcMessage, type EncodedSnapshot, type GatewayThreadState, type GatewayToSupervisor, type GatewayWorkerData, type SupervisorToGateway,
} from '../common/ipc.js';
import { RestartTracker, GATEWAY_THREAD_RESTART_OPTIONS, type RestartTrackerOptions } from './restart-tracker.js';
import { createFailedAttemptsTable } from '../common/failed-attempts-table.js';
import type { GatewayRequestMetrics } from '../common/ipc.js';
import { createRequestMetricsTable, summariseRequestMetrics } from '../gateway/metrics/request-metrics-layout.js';

const THREAD_ENTRY = new URL('../gateway/thread.js', import.meta.url);
/** How long after the drain deadline a thread that has not exited is given up on (see {@link GatewayThreads.drain}). */
const STUCK_THREAD_GRACE_MS = 5_000;
const GATEWAY_MESSAGE_TYPES = allMessageTypes<GatewayToSupervisor['type']>({
  'gateway.listening': true, 'gateway.listen-failed': true, 'gateway.policy-applied': true, 'identity.evict': true, 'rest-auth.forget': true, 'rooms.repair': true,
});

/** What {@link GatewayThreads} needs from the supervisor. */
export interface GatewayThreadsOptions {
  config: CorporalConfig;
  logger: Logger;
  /** The last good snapshot, handed to every thread that (re)starts. */
  lastSnapshot: () => EncodedSnapshot | null;
  /** Messages from threads that the supervisor acts on (evictions to relay, …). */
  onMessage: (threadIndex: number, message: GatewayToSupervisor) => void;
  /** Restart backoff; default {@link GATEWAY_THREAD_RESTART_OPTIONS} (250 ms doubling to 2 s). */
  restart?: RestartTrackerOptions;
  /** Test only: let threads accept the `gateway.inject-fault` message. Never set from config. */
  faultInjection?: boolean;
}

interface Slot {
  index: number;
  worker: Worker | null;
  listening: boolean;
  tracker: RestartTracker;
  restartTimer: NodeJS.Timeout | null;
  generation: number | null;
}

/**
 * Runs `HttpGateway.Threads` gateway threads, each its own uWS app on the same port, and restarts
 * any that dies with capped exponential backoff while the others keep serving.
 */
export class GatewayThreads {
  private readonly slots: Slot[];
  private stopping = false;
  private exitWaiters: Array<() => void> = [];
  /** Shared by every thread, restarted ones included (see GatewayWorkerData.failedAttempts). */
  private readonly failedAttempts = createFailedAttemptsTable();
  /** Every thread's request counters, one region each, kept across restarts (GatewayWorkerData.requestMetrics). */
  private readonly requestMetricsTable: SharedArrayBuffer;

  constructor(private readonly options: GatewayThreadsOptions) {
    const count = options.config.HttpGateway.Threads;
    this.requestMetricsTable = createRequestMetricsTable(count);
    this.slots = Array.from({ length: count }, (_, i) => ({
      index: i + 1,
      worker: null,
      listening: false,
      tracker: new RestartTracker(`gateway thread ${i + 1}`, options.logger, options.restart ?? GATEWAY_THREAD_RESTART_OPTIONS),
      restartTimer: null,
      generation: null,
    }));
  }

  /** Starts every thread; resolves once all listen, rejects if one cannot listen. */
  start(): Promise<number> {
    return Promise.all(this.slots.map((slot) => this.spawn(slot))).then((ports) => ports[0] ?? 0);
  }

  /** Threads that are running and listening. */
  get alive(): number {
    return this.slots.filter((slot) => slot.worker !== null && slot.listening).length;
  }

  /** Threads configured. */
  get configured(): number {
    return this.slots.length;
  }

  /** The lowest policy generation applied by all live threads (null if none applied one). */
  get appliedGeneration(): number | null {
    const generations = this.slots.filter((s) => s.worker && s.listening).map((s) => s.generation);
    if (generations.length === 0 || generations.some((g) => g === null)) return null;
    return Math.min(...(generations as number[]));
  }

  /** Each thread's state, in thread order (for the control child's status endpoint). */
  get states(): GatewayThreadState[] {
    return this.slots.map((slot) => {
      const alive = slot.worker !== null && slot.listening;
      return { index: slot.index, alive, generation: alive ? slot.generation : null, restarts: slot.tracker.restarts };
    });
  }

  /** What every thread (restarted ones included, from their first start) has served, summed. */
  requestMetrics(): GatewayRequestMetrics {
    return summariseRequestMetrics(this.requestMetricsTable, this.slots.length);
  }

  /** Sends a message to every running thread. */
  broadcast(message: SupervisorToGateway): void {
    for (const slot of this.slots) slot.worker?.postMessage(message);
  }

  /** Test only: makes thread `index` (1-based) throw an uncaught exception. */
  injectFault(index: number): void {
    this.slots[index - 1]?.worker?.postMessage({ v: IPC_VERSION, type: 'gateway.inject-fault' });
  }

  /**
   * Drains every thread: each stops accepting, finishes in-flight requests until `deadline`, closes
   * its sockets and exits. Resolves with true when all have exited; with false when one has still
   * not exited {@link STUCK_THREAD_GRACE_MS} after the deadline (logged, naming it): a thread whose
   * event loop is wedged never answers the drain, and a stop that waits for it forever would only
   * end, without a word, when the orchestrator kills the process. It is not terminated: a worker
   * that ends with its uWS sockets open aborts the whole process.
   */
  drain(deadline: number): Promise<boolean> {
    this.stopping = true;
    for (const slot of this.slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
    }
    this.broadcast(ipcMessage<SupervisorToGateway>({ type: 'gateway.drain', deadline }));
    if (this.slots.every((slot) => slot.worker === null)) return Promise.resolve(true);
    const exited = new Promise<true>((resolve) => this.exitWaiters.push(() => resolve(true)));
    return settleWithin(exited, Math.max(0, deadline - Date.now()) + STUCK_THREAD_GRACE_MS, () => {
      const stuck = this.slots.filter((slot) => slot.worker !== null).map((slot) => slot.index);
      this.options.logger.error({ threads: stuck }, 'gateway threads did not stop after the drain deadline; stopping without them');
      return false;
    }, { unref: true });
  }

  private spawn(slot: Slot): Promise<number> {
    const workerData: GatewayWorkerData & { faultInjection: boolean } = {
      config: this.options.config,
      threadIndex: slot.index,
      snapshot: this.options.lastSnapshot(),
      failedAttempts: this.failedAttempts,
      requestMetrics: this.requestMetricsTable,
      faultInjection: this.options.faultInjection === true,
    };
    const worker = new Worker(THREAD_ENTRY, { workerData, name: `gateway-${slot.index}` });
    slot.worker = worker;
    slot.listening = false;
    slot.generation = workerData.snapshot?.generation ?? null;
    slot.tracker.started();

    return new Promise((resolve, reject) => {
      let settled = false;
      worker.on('message', (message: unknown) => {
        if (!isIpcMessage(message, GATEWAY_MESSAGE_TYPES)) return;
        const typed = message as GatewayToSupervisor;
        if (typed.type === 'gateway.listening') {
          slot.listening = true;
          if (!settled) { settled = true; resolve(typed.port); }
        } else if (typed.type === 'gateway.listen-failed') {
          if (!settled) { settled = true; reject(new Error(`gateway thread ${slot.index} cannot listen on ${typed.address}`)); }
        } else if (typed.type === 'gateway.policy-applied') {
          slot.generation = typed.generation;
        }
        this.options.onMessage(slot.index, typed);
      });
      worker.on('error', (err) => {
        this.options.logger.error({ thread: slot.index, err: describeError(err) }, 'gateway thread failed');
      });
      worker.on('exit', (code) => {
        slot.worker = null;
        slot.listening = false;
        if (!settled) { settled = true; reject(new Error(`gateway thread ${slot.index} exited during start (code ${code})`)); }
        if (this.stopping) {
          this.options.logger.info({ thread: slot.index, code }, 'gateway thread exited');
          if (this.slots.every((s) => s.worker === null)) {
            const waiters = this.exitWaiters;
            this.exitWaiters = [];
            for (const waiter of waiters) waiter();
          }
          return;
        }
        const delayMs = slot.tracker.failed(code, null);
        slot.restartTimer = setTimeout(() => {
          slot.restartTimer = null;
          if (this.stopping) return;
          this.spawn(slot).catch((err) => {
            this.options.logger.error({ thread: slot.index, err: describeError(err) }, 'gateway thread restart failed');
          });
        }, delayMs);
      });
    });
  }
}
