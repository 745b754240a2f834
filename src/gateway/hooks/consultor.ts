import type { Dispatcher } from 'undici';
import { describeError } from '../../common/errors.js';
import { consultHook, type ConsultHookInput, type ConsultHookResult } from '../../offload/consult-hook.js';
import type { OffloadPool } from '../../offload/pool.js';

/** Runs one REST consultation (see `offload/consult-hook.ts`); resolves, never rejects, for expected failures. */
export interface HookConsultor {
  consult(input: ConsultHookInput): Promise<ConsultHookResult>;
}

/**
 * The consultor the gateway uses: the consultation runs in the thread's Piscina pool (as
 * docs/architecture.md lays out the offload pools; the pool's `ConcurrentTasksPerWorker` lets one
 * worker interleave many). No abort
 * signal is passed: aborting a running Piscina task kills its worker. A pool that cannot take the
 * task (queue full, closed) or a task that crashed counts as a failed consultation, so the
 * contingency hook or the fail-closed 503 applies.
 */
export function createPooledConsultor(pool: OffloadPool): HookConsultor {
  return {
    consult: async (input) => {
      try {
        return await pool.run('consultHook', input);
      } catch (err) {
        return { ok: false, code: 'consult-failed', message: `the offload pool did not run the consultation: ${describeError(err)}` };
      }
    },
  };
}

/**
 * `inner`, telling `counted` whether each consultation got a hook (`true`) or failed (`false`, a
 * rejection included, which is passed on): the thread's request metrics.
 */
export function countedConsultor(inner: HookConsultor, counted: (ok: boolean) => void): HookConsultor {
  return {
    consult: async (input) => {
      let ok = false;
      try {
        const result = await inner.consult(input);
        ok = result.ok;
        return result;
      } finally {
        counted(ok);
      }
    },
  };
}

/**
 * The same consultation on the calling thread's event loop, without the pool. Only for the
 * benchmark that measures what the pool costs; the gateway never uses it.
 */
export function createDirectConsultor(dispatcher: Dispatcher): HookConsultor {
  return { consult: (input) => consultHook(input, { dispatcher }) };
}
