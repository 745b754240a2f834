/**
 * Pool worker entry and composition root of a pool worker: Piscina loads this module in each worker
 * thread and calls its default export once per task. The task table maps each {@link TaskKind} to
 * its handler; resources a handler needs (the HTTP client for `rest` services) are built here, once
 * per worker, and die with the worker thread when the pool is destroyed.
 */
import { threadId } from 'node:worker_threads';
import { Agent } from 'undici';
import { consultHook } from './consult-hook.js';
import { verifyPassword } from './verify-password.js';
import type { TaskInput, TaskKind, TaskOutput, TaskRequest } from './task-types.js';

/**
 * Connection limits of the worker's HTTP client (auth services and hook REST services). Each
 * request carries its own deadline (`UserAuth.RestTimeoutMilliseconds`, a hook's
 * `RESTServiceRequestTimeoutMilliseconds`); these only keep undici's defaults out.
 */
const REST_AGENT_OPTIONS = Object.freeze({
  connect: { timeout: 10_000 },
  keepAliveTimeout: 4_000,
  keepAliveMaxTimeout: 60_000,
  headersTimeout: 60_000,
  bodyTimeout: 60_000,
});

const restDispatcher = new Agent(REST_AGENT_OPTIONS);

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
