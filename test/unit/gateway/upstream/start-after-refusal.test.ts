import t from 'tap';
import { createServer, type Socket } from 'node:net';
import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { Pool, type Dispatcher } from 'undici';
import { loadUws } from '../../../../src/gateway/uws.js';
import { ClientExchange, type ExchangeListener } from '../../../../src/gateway/respond.js';
import { HeaderCollector, RequestContext } from '../../../../src/gateway/request-context.js';
import { ProxyExchange, type ProxySettings } from '../../../../src/gateway/upstream/proxy-exchange.js';
import { parseUpstreamTarget } from '../../../../src/gateway/upstream/target.js';
import { TrustedProxies } from '../../../../src/gateway/upstream/forwarded-for.js';
import type { UpstreamPools } from '../../../../src/gateway/upstream/pools.js';
import { inTurn, rawRequest, wireResponses } from '../../../support/raw-http.js';
import { listenOnLoopback } from '../../../support/uws-listen.js';

/**
 * A body already complete when the proxy starts (it arrived while an earlier phase waited), and a
 * newer policy's hooks refuse it (`mayEnd`): the refusal happens inside `start()`, which must then
 * stop — no watchdog, nothing dispatched, no upstream connection (quality review 17).
 */

let upstreamConnections = 0;
const upstream = createServer((socket: Socket) => {
  upstreamConnections++;
  socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  socket.on('error', () => {});
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const target = parseUpstreamTarget(`http://127.0.0.1:${(upstream.address() as { port: number }).port}`);
const pool = new Pool(target.origin, { pipelining: 1 });
let dispatched = 0;
const counting = {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    dispatched++;
    return pool.dispatch(options, handler);
  },
};
const pools = { target, main: counting, uncapped: counting, internal: pool } as unknown as UpstreamPools;
const settings: ProxySettings = {
  pools,
  timeouts: { upstreamMs: 2_000, exchangeMs: 5_000 },
  trustedProxies: new TrustedProxies(null),
  observer: { upstreamResponded: () => {} },
  logger: { warn: () => {}, error: () => {}, info: () => {}, debug: () => {} } as never,
  answerError: (ctx, err) => ctx.exchange.sendMatrixError((err as { status?: number }).status ?? 500, 'M_UNKNOWN', 'refused'),
  // A newer policy with other before-hooks arrived while the request waited.
  hooksChangedFor: () => true,
};

const { uws } = loadUws(false);
const owner: ExchangeListener = { exchangeSettled: () => {} };
const collector = new HeaderCollector();
const app: TemplatedApp = uws.App().any('/*', (res, req) => {
  const ctx = new RequestContext(new ClientExchange(res, owner), req, null, collector, null);
  ctx.routeId = 'other';
  // An earlier asynchronous phase (a hook consultation, say) lets the body arrive whole first.
  const startOnceComplete = (): void => {
    if (!ctx.body!.ended) {
      setTimeout(startOnceComplete, 5);
      return;
    }
    const proxy = new ProxyExchange(ctx, settings);
    ctx.proxy = proxy;
    proxy.start();
  };
  startOnceComplete();
});
const { port, close } = await listenOnLoopback(uws, app);
t.teardown(async () => {
  close();
  upstream.close();
  await pool.destroy();
});

t.test('a body complete before start() and refused by mayEnd: 503, and nothing is dispatched upstream', async (t) => {
  const request = `${rawRequest('PUT', '/_matrix/client/v3/x', 'Content-Length: 2')}hi`;
  const [answer] = wireResponses(await inTurn(port, [request], 2_000));
  t.match(answer?.head ?? '', /^HTTP\/1\.1 503 /, 'answered 503');
  t.equal(dispatched, 0, 'no request handed to the upstream pool after the exchange was finished');
  t.equal(upstreamConnections, 0, 'no upstream connection opened for it');
});
