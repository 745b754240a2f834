/**
 * The contract between a gateway thread and its Piscina pool: which tasks exist, what each takes and
 * what each returns. Everything here crosses a thread boundary by structured clone, so inputs and
 * outputs are plain data.
 */
import type { ConsultHookInput, ConsultHookResult } from './consult-hook.js';
import type { VerifyPasswordInput, VerifyPasswordResult } from './verify-password.js';

/**
 * The outcome of a task. Expected failures (a bad credential, an unreachable auth service) are
 * *returned* as `ok: false` with a stable `code`: an error thrown in a worker is structured-cloned
 * back and loses its custom properties, so throwing is reserved for bugs.
 */
export type TaskResult<V, C extends string> =
  | { ok: true; value: V }
  | { ok: false; code: C; message: string };

/** Answer of the `ping` task: the id of the worker thread that ran it. */
export interface PingValue {
  threadId: number;
}

/** Every task kind with its input and output (each has its handler in the task table of `tasks.ts`). */
export interface TaskMap {
  /** Checks a password against a managed user's credential (see `verify-password.ts`). */
  verifyPassword: { input: VerifyPasswordInput; output: VerifyPasswordResult };
  /** One `consult.RESTServiceURL` consultation: payload, call, retries, returned hook (see `consult-hook.ts`). */
  consultHook: { input: ConsultHookInput; output: ConsultHookResult };
  /** Liveness probe: proves a worker thread can run a task, and which one did. */
  ping: { input: Record<string, never>; output: TaskResult<PingValue, never> };
}

/** A task kind; the stable string posted to the worker and used in logs. */
export type TaskKind = keyof TaskMap;

/** Input of task `K`. */
export type TaskInput<K extends TaskKind> = TaskMap[K]['input'];

/** Output of task `K`. */
export type TaskOutput<K extends TaskKind> = TaskMap[K]['output'];

/** The message a gateway thread posts to the pool for one task. */
export interface TaskRequest<K extends TaskKind = TaskKind> {
  kind: K;
  input: TaskInput<K>;
}

/**
 * True for a task that keeps a worker's CPU busy for its whole run: a bcrypt check (a hash that
 * takes tens of milliseconds by design). The pool gives such tasks a CPU slot (admission-queue.ts);
 * REST checks wait on the network, digests take microseconds, hook consultations are HTTP calls.
 */
export function isCpuBound(request: TaskRequest): boolean {
  return request.kind === 'verifyPassword' && (request.input as TaskInput<'verifyPassword'>).authType === 'bcrypt';
}
