import type { Logger } from 'pino';
import { statusRoute } from '../../src/control/http-api/status-route.js';
import type { PolicyStore } from '../../src/control/policy-store.js';
import { LastSeenProvider } from '../../src/control/providers/last-seen-provider.js';
import type { ReconcilerHostStatus } from '../../src/control/reconciler-host.js';
import { NO_GATEWAY_REQUESTS } from './control-plane.js';

/** The `reconciler` part of a status answer, loosely typed for assertions. */
export interface StatusBody {
  reconciler: Record<string, unknown> & { lastRun: Record<string, unknown> };
}

/**
 * The body `GET /_matrix/corporal/status` answers for `reconciler` (as the HTTP API serialises it:
 * capped lists, `failuresByCode`), with `store` as the policy store and a one-thread gateway.
 */
export async function statusBody(reconciler: ReconcilerHostStatus, store: PolicyStore, logger: Logger): Promise<StatusBody> {
  const route = statusRoute({
    store,
    provider: new LastSeenProvider({ cachePath: '/nonexistent/last-seen.json', store, logger }),
    gatewayStatus: async () => ({ threadsAlive: 1, threadsConfigured: 1, snapshotGeneration: null, threads: [], metrics: NO_GATEWAY_REQUESTS }),
    reconcilerStatus: () => reconciler,
  });
  const answer = await route.methods.GET!.handle({ method: 'GET', params: {}, query: new URLSearchParams(), headers: {}, body: Buffer.alloc(0) });
  return answer.body as StatusBody;
}
