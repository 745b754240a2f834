import type { RequestContext, RequestFinishedListener } from '../request-context.js';
import { countRequest } from './request-metrics-layout.js';

/**
 * Counts every finished request of a thread into its region of the shared table
 * (`request-metrics-layout.ts`): by route id, who answered and status class, its duration, bytes
 * and whether the client left. Always on: a few additions per request.
 */
export class RequestMetrics implements RequestFinishedListener {
  /** `region`: this thread's region of the table (`threadRegion`). */
  constructor(private readonly region: Float64Array) {}

  /** Records the request (called once, when its exchange has settled). */
  requestFinished(ctx: RequestContext): void {
    const exchange = ctx.exchange;
    countRequest(this.region, {
      routeId: ctx.routeId,
      status: exchange.status,
      // Who wrote the head, not whether Synapse's arrived: the gateway may answer in its place
      // after it did (an after-hook's reply, a response over its bound, a stalled body).
      fromHomeserver: exchange.relayed,
      durationSeconds: (performance.now() - ctx.startedAt) / 1000,
      aborted: exchange.aborted,
      cut: exchange.cut,
      bytesIn: ctx.body?.received ?? 0,
      bytesOut: exchange.bodyBytesSent,
    });
  }
}

/** One listener that tells `first`, then `second` (when there is one) that a request finished: the metrics, then the access log. */
export function bothListeners(first: RequestFinishedListener, second: RequestFinishedListener | null): RequestFinishedListener {
  if (second === null) return first;
  return {
    requestFinished(ctx: RequestContext): void {
      first.requestFinished(ctx);
      second.requestFinished(ctx);
    },
  };
}
