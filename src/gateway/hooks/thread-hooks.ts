import type { Logger } from '../../common/logger.js';
import type { OffloadPool } from '../../offload/pool.js';
import { createRestAgent } from '../../offload/rest-agent.js';
import { createDirectConsultor, createPooledConsultor } from './consultor.js';
import { HookEngine } from './hook-engine.js';

/**
 * Environment variable that makes a gateway run hook consultations on its gateway threads instead
 * of their offload pools (`1`). For the benchmark that measures what the pool costs
 * (bench/scenarios/hooks.ts) and nothing else: it is not configuration, and logged as a warning.
 */
export const CONSULT_IN_THREAD_ENV = 'CORPORAL_BENCH_CONSULT_IN_THREAD';

/** A gateway thread's hook engine and what it owns. */
export interface ThreadHooks {
  engine: HookEngine;
  /** Releases what the engine owns (the in-thread HTTP client, if any); the pool is the thread's. */
  close(): Promise<void>;
}

/**
 * Builds a gateway thread's hook engine. Consultations run in `pool`, the thread's one offload
 * pool (the one login and REST auth use too), unless {@link CONSULT_IN_THREAD_ENV} is set.
 */
export function createThreadHooks(pool: OffloadPool, logger: Logger, maxInspectedBodyBytes: number, env: NodeJS.ProcessEnv = process.env): ThreadHooks {
  if (env[CONSULT_IN_THREAD_ENV] === '1') {
    logger.warn(`${CONSULT_IN_THREAD_ENV}: hook consultations run on the gateway thread, not in the offload pool (benchmarks only)`);
    const agent = createRestAgent();
    return { engine: new HookEngine({ consultor: createDirectConsultor(agent), logger, maxInspectedBodyBytes }), close: () => agent.close() };
  }
  return { engine: new HookEngine({ consultor: createPooledConsultor(pool), logger, maxInspectedBodyBytes }), close: () => Promise.resolve() };
}
