import t from 'tap';
import { createServer, type Socket } from 'node:net';
import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { Pool } from 'undici';
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
 * An upstream that sends an informational head (103 Early Hints, as a CDN in front of Synapse may)
 * before its final answer: the client gets the final answer, not the 103 (quality review 17).
 */
// A homeserver stand-in that answers every request with 103, then 200 "ok".
const upstream = createServer((socket: Socket) => {
  socket.on('data', () => {
    socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
    setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok'), 20);
  });
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamPort = (upstream.address() as { port: number }).port;
const target = parseUpstreamTarget(`http://127.0.0.1:${upstreamPort}`);
const pool = new Pool(target.origin, { pipelining: 1 });
const pools = { target, main: pool, uncapped: pool, internal: pool } as unknown as UpstreamPools;
const settings: ProxySettings = {
  pools,
  timeouts: { upstreamMs: 2_000, exchangeMs: 5_000 },
  trustedProxies: new TrustedProxies(null),
  observer: { upstreamResponded: () => {} },
  logger: { warn: () => {}, error: () => {}, info: () => {}, debug: () => {} } as never,
  answerError: (ctx) => ctx.exchange.sendText(500, 'error'),
  hooksChangedFor: () => false,
};

const { uws } = loadUws(false);
const owner: ExchangeListener = { exchangeSettled: () => {} };
const collector = new HeaderCollector();
const app: TemplatedApp = uws.App().any('/*', (res, req) => {
  const ctx = new RequestContext(new ClientExchange(res, owner), req, null, collector, null);
  ctx.routeId = 'other';
  const proxy = new ProxyExchange(ctx, settings);
  ctx.proxy = proxy;
  proxy.start();
});
const { port, close } = await listenOnLoopback(uws, app);
t.teardown(async () => {
  close();
  upstream.close();
  await pool.destroy();
});

t.test('an upstream 103 before the 200: the client gets the 200 and its body, and nothing else', async (t) => {
  const responses = wireResponses(await inTurn(port, [rawRequest('GET', '/_matrix/client/v3/x')], 2_000));
  const final = responses.find((r) => /^HTTP\/1\.1 [2-5]\d\d /.test(r.head));
  t.ok(final, `a final response reached the client (got: ${JSON.stringify(responses.map((r) => r.head.split('\r\n')[0]))})`);
  t.match(final?.head ?? '', /^HTTP\/1\.1 200 OK/);
  t.equal(final?.body, 'ok');
  t.equal(responses.length, 1, 'the 103 is not passed on');
});
