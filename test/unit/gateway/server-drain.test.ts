import t from 'tap';
import { connect } from 'node:net';
import { loadUws } from '../../../src/gateway/uws.js';
import { GatewayServer } from '../../../src/gateway/server.js';
import type { ClientExchange } from '../../../src/gateway/respond.js';
import { inTurn, rawRequest, wireResponses } from '../../support/raw-http.js';
import { createDrainRefusal } from '../../../src/gateway/drain-refusal.js';
import { RequestMetrics } from '../../../src/gateway/metrics/request-metrics.js';
import { createRequestMetricsTable, summariseRequestMetrics, threadRegion } from '../../../src/gateway/metrics/request-metrics-layout.js';
import type { RequestContext } from '../../../src/gateway/request-context.js';

/**
 * `whenIdle` resolves at its deadline while a request is held, and then leaves nothing behind; a
 * request that arrives while the server drains is refused, and counted.
 */
const { uws } = loadUws(false);
const held: ClientExchange[] = [];
const server = new GatewayServer({ uws, handle: (exchange) => { held.push(exchange); } });
const port = await server.listen('127.0.0.1', 0);
t.teardown(() => server.close());

t.test('a deadline passed while busy: resolved, and its waiter is gone; idle again: resolved at once', async (t) => {
  const socket = connect(port, '127.0.0.1', () => socket.write(rawRequest('GET', '/held')));
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  while (server.inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 0; i < 3; i++) await server.whenIdle(Date.now() + 10);
  t.equal(server.inFlight, 1, 'still busy: each wait ended at its deadline');
  t.equal((server as unknown as { idleWaiters: unknown[] }).idleWaiters.length, 0, 'no waiter left behind by the deadlines');
  const idle = server.whenIdle(Date.now() + 60_000);
  held[0]!.sendText(200, 'done');
  await idle;
  t.equal(server.inFlight, 0);
});

t.test('a request on a kept-alive connection after the drain began: 503, connection closed, counted and logged', async (t) => {
  const table = createRequestMetricsTable(1);
  const metrics = new RequestMetrics(threadRegion(table, 1));
  const finished: RequestContext[] = [];
  const draining: GatewayServer = new GatewayServer({
    uws,
    // The first request is answered, then the drain starts: the second, on the same connection, comes too late.
    handle: (exchange) => {
      exchange.sendText(200, 'ok');
      draining.startDrain();
    },
    refuse: createDrainRefusal({ requestFinished: (ctx) => {
      metrics.requestFinished(ctx);
      finished.push(ctx);
    } }),
  });
  const drainingPort = await draining.listen('127.0.0.1', 0);
  t.teardown(() => draining.close());
  const responses = wireResponses(await inTurn(drainingPort, [rawRequest('GET', '/first'), rawRequest('GET', '/late?access_token=secret')], 100));
  t.match(responses[0]?.head, /^HTTP\/1\.1 200 /);
  t.match(responses[1]?.head, /^HTTP\/1\.1 503 /);
  t.match(responses[1]?.head, /Retry-After: 1\r\n/);
  t.match(responses[1]?.body, /Corporal is shutting down/);
  t.equal(finished.length, 1, 'the refusal reached the finished listener (the access log)');
  t.match(finished[0], { routeId: 'unrouted', method: 'GET', rawPath: '/late', rawQuery: 'access_token=secret', upstreamStatus: 0 });
  const summary = summariseRequestMetrics(table, 1);
  t.same(summary.requests, [{ route: 'unrouted', source: 'corporal', code: '5xx', count: 1 }], 'counted as the gateway\'s 5xx, unrouted');
  t.match(summary.durations, [{ route: 'unrouted', kind: 'request', counts: [1] }], 'its duration: the first bucket');
  t.equal(draining.inFlight, 0);
});
