import { setTimeout as sleep } from 'node:timers/promises';
import { CorporalError } from '../common/errors.js';
import type { GatewayStatusRequestMessage, GatewayStatusResponseMessage, Unversioned } from '../common/ipc.js';

/** The gateway threads' state, as the supervisor reports it. */
export type GatewayStatus = Omit<GatewayStatusResponseMessage, 'v' | 'type' | 'requestId'>;

/** How long the supervisor has to answer. */
export const GATEWAY_STATUS_TIMEOUT_MS = 2000;

/**
 * Asks the supervisor for the gateway threads' state over IPC (`gateway.status.request` /
 * `gateway.status.response`), matching answers to questions by request id.
 */
export class GatewayStatusClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (status: GatewayStatus) => void; timer: NodeJS.Timeout }>();

  constructor(
    private readonly send: (message: Unversioned<GatewayStatusRequestMessage>) => void,
    private readonly timeoutMs: number = GATEWAY_STATUS_TIMEOUT_MS,
  ) {}

  /** Resolves with the supervisor's answer; rejects (`CORP_ERR_GATEWAY_STATUS_TIMEOUT`) when none comes in time. */
  request(): Promise<GatewayStatus> {
    const requestId = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new CorporalError('CORP_ERR_GATEWAY_STATUS_TIMEOUT', `no answer from the supervisor within ${this.timeoutMs} ms`, { source: 'internal', retryable: true }));
      }, this.timeoutMs);
      this.pending.set(requestId, { resolve, timer });
      this.send({ type: 'gateway.status.request', requestId });
    });
  }

  /** Feeds an answer from the supervisor; unknown or late ids are ignored. */
  handleResponse(message: GatewayStatusResponseMessage): void {
    const waiter = this.pending.get(message.requestId);
    if (waiter === undefined) return;
    this.pending.delete(message.requestId);
    clearTimeout(waiter.timer);
    const { v: _v, type: _type, requestId: _id, ...status } = message;
    waiter.resolve(status);
  }
}

/** How long {@link waitForGatewayGeneration} waits at most, and how often it asks. */
export const GATEWAY_CATCH_UP_TIMEOUT_MS = 10_000;
const GATEWAY_CATCH_UP_POLL_MS = 25;

/**
 * Resolves true once every live gateway thread enforces policy `generation` or a newer one (the
 * supervisor's `snapshotGeneration`), false when that did not happen within `timeoutMs` (no thread
 * alive, a thread still decoding a huge policy, a supervisor that does not answer) or when `signal`
 * aborts (the reconcile loop stopping). Asks every `intervalMs`; a failed question, or one not
 * answered before the deadline, counts as "not yet". Never rejects, and asks nothing once it has
 * resolved.
 */
export async function waitForGatewayGeneration(
  request: () => Promise<GatewayStatus>,
  generation: number,
  options: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal } = {},
): Promise<boolean> {
  const deadline = performance.now() + (options.timeoutMs ?? GATEWAY_CATCH_UP_TIMEOUT_MS);
  const intervalMs = options.intervalMs ?? GATEWAY_CATCH_UP_POLL_MS;
  const { signal } = options;
  const aborted = (): boolean => signal?.aborted === true;
  for (;;) {
    if (aborted()) return false;
    try {
      // The supervisor's own answer timeout (GATEWAY_STATUS_TIMEOUT_MS) may outlast the deadline.
      const status = await settledWithin(request(), deadline - performance.now(), signal);
      if (status !== undefined && status.snapshotGeneration !== null && status.snapshotGeneration >= generation) return true;
    } catch {
      // Not answered: not known to have caught up.
    }
    const left = deadline - performance.now();
    if (left <= 0 || aborted()) return false;
    await settledWithin(sleep(Math.min(intervalMs, left)), left, signal);
  }
}

/** `promise`'s value, or undefined once `ms` have passed or `signal` aborted, whichever comes first. */
async function settledWithin<T>(promise: Promise<T>, ms: number, signal: AbortSignal | undefined): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const cut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
    onAbort = () => resolve(undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, cut]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}
