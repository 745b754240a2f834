import { CONSULT_IN_THREAD_ENV } from '../../src/gateway/hooks/thread-hooks.js';
import { BENCH_POLICY, startHookService } from '../support/processes.js';
import { cachedGet } from './http-load.js';
import type { OwnCorporal, Scenario } from './scenario.js';

/**
 * 20 hooks that can fire on the cached-GET request (`GET …/joined_rooms` by an authenticated
 * user: the event types of the catch-all, any method) but whose route rules do not match it. The
 * worst non-matching case: every request builds its hook request, decodes its path and tests 20
 * regexes (method rules would rule them out before that).
 */
function nonMatchingHooks(): object[] {
  const eventTypes = ['beforeAnyRequest', 'beforeAuthenticatedRequest', 'afterAnyRequest', 'afterAuthenticatedRequest'];
  return Array.from({ length: 20 }, (_, i) => ({
    id: `non-matching-${i}`,
    eventType: eventTypes[i % eventTypes.length],
    action: 'reject',
    rejectionErrorCode: 'M_FORBIDDEN',
    rejectionErrorMessage: 'not expected to match',
    routeMatchesRegex: `^/_matrix/client/(r0|v3)/rooms/[^/]+/(ban|kick|invite${i})$`,
  }));
}

/**
 * `cached-get` through a Corporal whose policy has {@link nonMatchingHooks}: compare with the
 * gateway row of `cached-get` (no hooks) of the same run; the target is < 10 % cost.
 */
export const cachedGet20Hooks: Scenario = {
  name: 'cached-get-20-hooks',
  description: 'cached-get with 20 hooks that do not match it (route rules)',
  ownCorporal: async () => ({ policy: { ...BENCH_POLICY, hooks: nonMatchingHooks() }, close: async () => {} }),
  run: cachedGet.run,
};

/** A Corporal whose policy consults a local hook REST service (bench/hook-service.ts) on every cached GET. */
async function consultingCorporal(env: Record<string, string>): Promise<OwnCorporal> {
  const service = await startHookService();
  const hook = {
    id: 'consult-joined-rooms',
    eventType: 'beforeAuthenticatedRequest',
    routeMatchesRegex: '/joined_rooms$',
    action: 'consult.RESTServiceURL',
    RESTServiceURL: `http://127.0.0.1:${service.port}/consult`,
    RESTServiceRequestTimeoutMilliseconds: 10_000,
  };
  return { policy: { ...BENCH_POLICY, hooks: [hook] }, env, close: () => service.stop() };
}

/** `cached-get` with a matching consult hook, the consultation in the gateway thread's offload pool (as Corporal runs). */
export const hookConsultPooled: Scenario = {
  name: 'hook-consult-pooled',
  description: 'cached-get consulting a local hook service (pass.unmodified) through the offload pool',
  ownCorporal: () => consultingCorporal({}),
  run: cachedGet.run,
};

/** The same, with the consultation on the gateway thread itself (benchmark-only switch): what the pool costs. */
export const hookConsultInThread: Scenario = {
  name: 'hook-consult-in-thread',
  description: 'the same consultation on the gateway thread (no pool; benchmark only)',
  ownCorporal: () => consultingCorporal({ [CONSULT_IN_THREAD_ENV]: '1' }),
  run: cachedGet.run,
};
