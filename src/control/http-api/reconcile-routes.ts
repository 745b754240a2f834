import type { Logger } from '../../common/logger.js';
import { dryRunReport, type DryRunReport } from '../dry-run-report.js';
import type { PolicyStore } from '../policy-store.js';
import type { Reconciler } from '../loop/create-reconciler.js';
import type { ReconcilerHost } from '../reconciler-host.js';
import { failureResponse, unavailableResponse } from './failure.js';
import { SMALL_BODY_BYTES, type ApiResponse, type Route } from './route.js';

/** What the reconciliation endpoints need. */
export interface ReconcileRoutesOptions {
  host: ReconcilerHost;
  store: PolicyStore;
  logger: Logger;
}

/**
 * Corporal's reconciliation endpoints (matrix-corporal had neither):
 * - `POST /_matrix/corporal/reconcile` → 202 `{}`: a full pass starts now, or right after the run in
 *   progress (triggers coalesce);
 * - `GET /_matrix/corporal/plan` → 200 {@link DryRunReport}: observes Synapse and plans without
 *   applying anything; concurrent requests share one dry run (each observes the whole server).
 * Both answer 503 while the reconciler is not ready (admin session not open) or no policy is loaded,
 * and the plan 502/504 when Synapse fails.
 */
export function reconcileRoutes(options: ReconcileRoutesOptions): Route[] {
  const { host, store, logger } = options;
  let planInFlight: Promise<ApiResponse> | null = null;

  /** The reconciler, or the 503 answer explaining why there is none to use. */
  const ready = (prefix: string): Reconciler | ApiResponse => {
    const reason = host.unavailableReason();
    const reconciler = host.reconciler;
    if (reason !== null || reconciler === null) return unavailableResponse(prefix, reason ?? 'the reconciler is not ready');
    if (store.current === null) return unavailableResponse(prefix, 'no policy has been loaded yet');
    return reconciler;
  };

  return [
    {
      pattern: '/_matrix/corporal/reconcile',
      methods: {
        POST: {
          id: 'reconcile.trigger',
          maxBodyBytes: SMALL_BODY_BYTES,
          handle: () => {
            const reconciler = ready('Cannot reconcile');
            if (!('loop' in reconciler)) return reconciler;
            reconciler.loop.trigger();
            logger.info({ generation: store.current?.generation }, 'full reconciliation pass requested through the API');
            return { status: 202, body: {} };
          },
        },
      },
    },
    {
      pattern: '/_matrix/corporal/plan',
      methods: {
        GET: {
          id: 'plan.get',
          maxBodyBytes: SMALL_BODY_BYTES,
          handle: () => {
            const reconciler = ready('Cannot plan');
            if (!('loop' in reconciler)) return reconciler;
            planInFlight ??= reconciler.loop
              .plan()
              .then((dryRun): ApiResponse => ({ status: 200, body: dryRunReport(dryRun) }), (err: unknown) => failureResponse('Cannot plan', err, logger))
              .finally(() => {
                planInFlight = null;
              });
            return planInFlight;
          },
        },
      },
    },
  ];
}
