import t from 'tap';
import { connect } from 'node:net';
import { loadUws } from '../../../src/gateway/uws.js';
import { GatewayServer } from '../../../src/gateway/server.js';
import type { ClientExchange } from '../../../src/gateway/respond.js';
import { rawRequest } from '../../support/raw-http.js';

/** `whenIdle` resolves at its deadline while a request is held, and then leaves nothing behind. */
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
