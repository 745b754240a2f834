/**
 * Pool worker entry and composition root of a pool worker: each worker thread loads this module
 * (through the CommonJS shim tasks-entry.cts) and calls its default export once per task. The task table maps each {@link TaskKind} to
 * its handler; resources a handler needs (the HTTP client for `rest` services) are built here, once
 * per worker, and die with the worker thread when the pool is destroyed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import type { OffloadWorkerData } from './pool.js';
import { consultHook } from './consult-hook.js';
import { createRestAgent } from './rest-agent.js';
import { verifyPassword } from './verify-password.js';
import type { TaskInput, TaskKind, TaskOutput, TaskRequest } from './task-types.js';

const restDispatcher = createRestAgent();

/** How much nicer pool workers are than the gateway thread that started them, where idle scheduling is unavailable (nice tops out at 19). */
const WORKER_NICE_INCREMENT = 10;

/** util-linux `chrt` (Node has no `sched_setscheduler`); looked up at fixed paths, never through PATH. */
const CHRT_PATHS = ['/usr/bin/chrt', '/bin/chrt'];

/**
 * Workers of an `idle` pool (pool.ts, `WorkerPriority`) give the CPU to the gateway threads first:
 * during a storm of bcrypt checks the cores go to proxying, and password checks take what is left.
 *
 * Linux `SCHED_IDLE` for this worker thread (any user may move a thread there): a gateway thread
 * that wakes up preempts it at once. Measured with bench/login.ts on 2 cores: cached-GET p99 ×1.5
 * during the storm, logins still served at 6–7/s; with the former `nice +10` the same run gave ×4
 * (a niced thread still holds the core for its slice), with `nice +19` ×3. Under sustained
 * saturation password checks slow down rather than proxying; the pool's bounded queue then answers
 * 503 + `Retry-After` instead of letting logins pile up. Hook consultations run in a `normal` pool.
 *
 * Where `chrt` is missing or refused, the worker becomes 10 nicer than the thread that started it.
 * Linux keeps both per thread, so they are applied to this thread's id (from /proc/thread-self)
 * and touch only this worker. Elsewhere (not Linux), the worker keeps its priority.
 */
function lowerWorkerPriority(): void {
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return; // not Linux
  }
  // Never 0: for both calls, 0 means the calling process, every gateway thread included.
  if (!Number.isInteger(tid) || tid <= 0) return;
  if (scheduleIdle(tid)) return;
  try {
    setPriority(tid, Math.min(19, getPriority(tid) + WORKER_NICE_INCREMENT));
  } catch {
    // Not permitted.
  }
}

/** Moves thread `tid` to `SCHED_IDLE`; false when `chrt` is missing or failed. */
function scheduleIdle(tid: number): boolean {
  const chrt = CHRT_PATHS.find((path) => existsSync(path));
  if (chrt === undefined) return false;
  const result = spawnSync(chrt, ['--idle', '--pid', '0', String(tid)], { stdio: 'ignore', timeout: 5_000 });
  return result.status === 0;
}
if ((workerData as OffloadWorkerData | undefined)?.priority !== 'normal') lowerWorkerPriority();

type TaskTable = { readonly [K in TaskKind]: (input: TaskInput<K>) => Promise<TaskOutput<K>> };

/** One handler per task kind. */
const taskTable: TaskTable = Object.freeze({
  verifyPassword: (input) => verifyPassword(input, { dispatcher: restDispatcher }),
  consultHook: (input) => consultHook(input, { dispatcher: restDispatcher }),
  ping: async () => ({ ok: true as const, value: { threadId } }),
});

/**
 * Runs one task. Expected failures come back as `{ ok: false, code, message }` values; a throw means
 * a bug (such as an unknown task kind) and reaches the gateway as a rejected `run()`.
 */
export default async function runTask(request: TaskRequest): Promise<TaskOutput<TaskKind>> {
  const kind = request.kind;
  if (!Object.hasOwn(taskTable, kind)) throw new Error(`unknown offload task kind ${JSON.stringify(kind)}`);
  const handler = taskTable[kind] as (input: TaskInput<TaskKind>) => Promise<TaskOutput<TaskKind>>;
  return handler(request.input);
}
