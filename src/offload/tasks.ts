/**
 * Pool worker entry and composition root of a pool worker: Piscina loads this module in each worker
 * thread and calls its default export once per task. The task table maps each {@link TaskKind} to
 * its handler; resources a handler needs (the HTTP client for `rest` services) are built here, once
 * per worker, and die with the worker thread when the pool is destroyed.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { threadId } from 'node:worker_threads';
import { consultHook } from './consult-hook.js';
import { createRestAgent } from './rest-agent.js';
import { verifyPassword } from './verify-password.js';
import type { TaskInput, TaskKind, TaskOutput, TaskRequest } from './task-types.js';

const restDispatcher = createRestAgent();

/** How much nicer pool workers are than the gateway thread that started them (nice tops out at 19). */
const WORKER_NICE_INCREMENT = 10;

/**
 * Pool workers run at a lower CPU priority than the gateway threads (10 nicer than the thread that
 * started them, whose nice value a new thread inherits): during a storm of bcrypt checks the cores
 * go to proxying first and password checks take what is left (bench/login.ts, 2 cores: cached-GET
 * p99 ×1.7 during the storm instead of ×2.2). Linux keeps nice values per thread, so
 * `setpriority` on this thread's id (from /proc/thread-self) touches only this worker. Elsewhere,
 * or if refused, the worker keeps its priority.
 */
function lowerWorkerPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    // Never 0: setpriority(0) means the calling process, every gateway thread included.
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getPriority(tid) + WORKER_NICE_INCREMENT));
  } catch {
    // Not Linux, or not permitted.
  }
}
lowerWorkerPriority();

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
