import t from 'tap';
import { inTurn, rawRequest, wireResponses } from '../../../support/raw-http.js';
import { startProxyHarness } from './fixtures/proxy-harness.js';
import type { RequestContext } from '../../../../src/gateway/request-context.js';

/**
 * A body already complete when the proxy starts (it arrived while an earlier phase waited), and a
 * newer policy's hooks refuse it (`mayEnd`): the refusal happens inside `start()`, which must then
 * stop — no watchdog, nothing dispatched, no upstream connection (quality review 17).
 */
const startOnceComplete = (ctx: RequestContext, start: () => void): void => {
  if (ctx.body!.ended) start();
  else setTimeout(startOnceComplete, 5, ctx, start);
};
const harness = await startProxyHarness({
  answer: (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
  // A newer policy with other before-hooks arrived while the request waited.
  hooksChangedFor: () => true,
  startProxy: startOnceComplete,
});
t.teardown(() => harness.close());

t.test('a body complete before start() and refused by mayEnd: 503, and nothing is dispatched upstream', async (t) => {
  const request = `${rawRequest('PUT', '/_matrix/client/v3/x', 'Content-Length: 2')}hi`;
  const [answer] = wireResponses(await inTurn(harness.port, [request], 2_000));
  t.match(answer?.head ?? '', /^HTTP\/1\.1 503 /, 'answered 503');
  t.equal(harness.dispatched(), 0, 'no request handed to the upstream pool after the exchange was finished');
  t.equal(harness.upstreamConnections(), 0, 'no upstream connection opened for it');
});
