import { refuseWhileDraining, type ExchangeHandler } from './server.js';
import { HeaderCollector, RequestContext, type RequestFinishedListener } from './request-context.js';

/**
 * The thread's handler of requests that arrive while it drains (`GatewayServerOptions.refuse`):
 * each is captured as the pipeline captures a request, then refused with the server's 503. The
 * capture is what makes `finished` (the metrics, the access log) see it: route `unrouted`, the
 * gateway's 503, a duration of about nothing. No policy, no limits: nothing is decided or buffered.
 */
export function createDrainRefusal(finished: RequestFinishedListener | null): ExchangeHandler {
  const headers = new HeaderCollector();
  return (exchange, req) => {
    const ctx = new RequestContext(exchange, req, null, headers, finished);
    refuseWhileDraining(ctx.exchange);
  };
}
