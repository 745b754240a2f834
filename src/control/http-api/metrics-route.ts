import { PrometheusText, PROMETHEUS_CONTENT_TYPE } from '../../common/prometheus-text.js';
import { summarisePolicy, type PolicySummary } from '../../policy/summary.js';
import type { GatewayStatus } from '../gateway-status.js';
import { writeGatewayMetrics, writePolicyMetrics, writeReconcilerMetrics } from './metrics-families.js';
import { SMALL_BODY_BYTES, type ApiResponse, type Route } from './route.js';
import type { StatusRouteOptions } from './status-route.js';

/**
 * `GET /_matrix/corporal/metrics` (Corporal only): the policy, the provider, the reconciler and the
 * gateway threads' request counters in Prometheus' text format, from the same state as
 * `/status`. Authenticated like every endpoint of the API, and also with
 * `HttpApi.MetricsAuthorizationBearerToken`, which opens nothing else (Prometheus sends it with
 * `authorization: {credentials: …}`); its answered requests are logged at debug. Never a credential, a
 * user id or a room id in a label: route ids, action types, error codes and states only.
 */
export function metricsRoute(options: StatusRouteOptions): Route {
  // Summarising walks every user: done once per policy generation, not once per scrape.
  let summarised: { generation: number; summary: PolicySummary } | null = null;
  const summaryOf = (generation: number, compute: () => PolicySummary): PolicySummary => {
    if (summarised?.generation !== generation) summarised = { generation, summary: compute() };
    return summarised.summary;
  };
  return {
    pattern: '/_matrix/corporal/metrics',
    methods: {
      GET: {
        id: 'metrics.get',
        maxBodyBytes: SMALL_BODY_BYTES,
        quiet: true,
        acceptsMetricsToken: true,
        handle: async (): Promise<ApiResponse> => {
          const current = options.store.current;
          const out = new PrometheusText();
          writePolicyMetrics(out, {
            policy: current === null ? null : { summary: summaryOf(current.generation, () => summarisePolicy(current.snapshot)), loadedAt: current.loadedAt },
            lastRejectionAt: options.store.lastRejection?.at ?? null,
            provider: options.provider.status(),
          });
          if (options.reconcilerStatus !== undefined) writeReconcilerMetrics(out, options.reconcilerStatus());
          writeGatewayMetrics(out, await gatewayStatusOrNull(options.gatewayStatus));
          return { status: 200, body: out.toString(), contentType: PROMETHEUS_CONTENT_TYPE };
        },
      },
    },
  };
}

/** The supervisor's answer, or null when none came in time: the rest of the scrape still answers. */
async function gatewayStatusOrNull(ask: () => Promise<GatewayStatus>): Promise<GatewayStatus | null> {
  try {
    return await ask();
  } catch {
    return null;
  }
}
