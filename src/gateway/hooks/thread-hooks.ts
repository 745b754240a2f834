import type { OffloadConfig } from '../../common/config/types.js';
import type { Logger } from '../../common/logger.js';
import { createOffloadPool, type OffloadPool } from '../../offload/pool.js';
import { createRestAgent } from '../../offload/rest-agent.js';
import { createDirectConsultor, createPooledConsultor, type HookConsultor } from './consultor.js';
import { HookEngine } from './hook-engine.js';
import { UNCOUNTED, type HookCounters } from './hook-counters.js';

/**
 * Environment variable that makes a gateway run hook consultations on its gateway threads instead
 * of their offload pools (`1`). For the benchmark that measures what the pool costs
 * (bench/scenarios/hooks.ts) and nothing else: it is not configuration, and logged as a warning.
 */
export const CONSULT_IN_THREAD_ENV = 'CORPORAL_BENCH_CONSULT_IN_THREAD';

/** A gateway thread's hook engine and what it owns. */
export interface ThreadHooks {
  engine: HookEngine;
  /** Releases what the engine owns: its consultation pool (or the in-thread HTTP client). */
  close(): Promise<void>;
}

/**
 * Builds a gateway thread's hook engine. Consultations run in a pool of their own, sized by
 * `Offload` like the thread's password pool but at normal priority (offload/pool.ts,
 * `WorkerPriority`): a consulted request must not wait behind the gateway's own load. The pool
 * is started by the first consultation. With
 * {@link CONSULT_IN_THREAD_ENV} set they run on the gateway thread instead (benchmarks only).
 * `counters` are told of every consultation, execution and failure (the request metrics).
 */
export function createThreadHooks(
  offload: OffloadConfig,
  logger: Logger,
  maxInspectedBodyBytes: number,
  counters: HookCounters = UNCOUNTED,
  env: NodeJS.ProcessEnv = process.env,
): ThreadHooks {
  if (env[CONSULT_IN_THREAD_ENV] === '1') {
    logger.warn(`${CONSULT_IN_THREAD_ENV}: hook consultations run on the gateway thread, not in the offload pool (benchmarks only)`);
    const agent = createRestAgent();
    return { engine: new HookEngine({ consultor: createDirectConsultor(agent), logger, maxInspectedBodyBytes, counters }), close: () => agent.close() };
  }
  // The pool starts with the first consultation: most policies have no REST hooks, and its
  // workers (one undici agent each) would otherwise sit idle in every gateway thread.
  let pool: OffloadPool | null = null;
  let pooled: HookConsultor | null = null;
  let closed = false;
  const consultor: HookConsultor = {
    consult: (input) => {
      if (closed) return Promise.resolve({ ok: false, code: 'consult-failed', message: 'the gateway thread is shutting down' });
      pool ??= createOffloadPool(offload, { logger, priority: 'normal' });
      pooled ??= createPooledConsultor(pool);
      return pooled.consult(input);
    },
  };
  const close = async (): Promise<void> => {
    closed = true;
    await pool?.close();
  };
  return { engine: new HookEngine({ consultor, logger, maxInspectedBodyBytes, counters }), close };
}
