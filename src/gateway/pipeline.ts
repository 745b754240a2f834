import type { ExchangeHandler } from './server.js';
import { ErrCode } from '../common/matrix-errors.js';

/** matrix-corporal's health/info route and its exact answer. */
export const INFO_PATH = '/_matrix/client/corporal';
export const INFO_TEXT = 'Matrix Client-Server API protected by Matrix Corporal';

/**
 * The request pipeline of a gateway thread. At this stage it answers only the info route; every
 * other request gets a 503 Matrix error until the proxy is in place.
 */
export function createPipeline(): ExchangeHandler {
  return (exchange, req) => {
    if (req.getMethod() === 'get' && req.getUrl() === INFO_PATH) {
      exchange.sendText(200, INFO_TEXT);
      return;
    }
    exchange.sendMatrixError(503, ErrCode.Unknown, 'Corporal is not proxying requests yet');
  };
}
