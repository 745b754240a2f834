import t from 'tap';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, request, type Dispatcher } from 'undici';
import { RecyclingPool } from '../../../../src/gateway/upstream/recycling-pool.js';

/** A server that holds every `/held` request until `releaseAll()`, and answers the rest at once. */
async function startHoldingServer(): Promise<{ origin: string; releaseAll: () => void; heldCount: () => number; close: () => Promise<void> }> {
  const held: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.url === '/held') held.push(res);
    else res.end('ok');
  });
  // The homeserver closes idle connections quickly, so that disconnected Clients appear fast.
  server.keepAliveTimeout = 200;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    releaseAll: () => { for (const res of held.splice(0)) res.end('released'); },
    heldCount: () => held.length,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function get(pool: RecyclingPool, url: string): Promise<string> {
  const { body } = await request(url, { dispatcher: pool as unknown as Dispatcher });
  return body.text();
}

t.test('a burst leaves no Clients behind once their connections are gone; running requests finish', async (t) => {
  const server = await startHoldingServer();
  t.teardown(server.close);
  const created: Pool[] = [];
  const pool = new RecyclingPool(() => {
    const made = new Pool(server.origin, { connections: null, pipelining: 1, keepAliveTimeout: 200, keepAliveMaxTimeout: 200 });
    created.push(made);
    return made;
  }, 50);
  t.teardown(() => pool.destroy());

  const burst = Array.from({ length: 120 }, () => get(pool, server.origin + '/held'));
  await waitFor(() => server.heldCount() === 120, 'the burst to reach the server');
  t.equal(pool.clientCount, 120, 'one Client per concurrent request');
  t.notOk(pool.recycleIfWasteful(), 'busy Clients are not dead weight');
  server.releaseAll();
  t.same(new Set(await Promise.all(burst)), new Set(['released']));

  // One request is still running when the pool is replaced.
  const running = get(pool, server.origin + '/held');
  await waitFor(() => server.heldCount() === 1, 'the running request to reach the server');
  await waitFor(() => pool.recycleIfWasteful(), 'idle connections to close and the pool to be replaced');
  t.equal(created.length, 2, 'a fresh pool took over');
  t.equal(pool.clientCount, 0, 'the fresh pool starts without Clients');
  t.equal(pool.retiringCount, 1, 'the old pool waits for its running request');
  t.notOk(created[0]!.destroyed, 'the running request was not cut');

  t.equal(await get(pool, server.origin + '/fast'), 'ok', 'new requests go through the fresh pool');
  t.equal(pool.clientCount, 1);
  server.releaseAll();
  t.equal(await running, 'released', 'the running request finished on its old connection');
  await waitFor(() => pool.retiringCount === 0, 'the old pool to close');
  t.ok(created[0]!.closed, 'the old pool is closed and released');
});

t.test('a few idle Clients are tolerated', async (t) => {
  const server = await startHoldingServer();
  t.teardown(server.close);
  let pools = 0;
  const pool = new RecyclingPool(() => {
    pools++;
    return new Pool(server.origin, { connections: null, pipelining: 1, keepAliveTimeout: 200, keepAliveMaxTimeout: 200 });
  }, 50);
  t.teardown(() => pool.destroy());

  const burst = Array.from({ length: 30 }, () => get(pool, server.origin + '/held'));
  await waitFor(() => server.heldCount() === 30, 'the burst to reach the server');
  server.releaseAll();
  await Promise.all(burst);
  await sleep(600);
  t.notOk(pool.recycleIfWasteful(), '30 disconnected Clients are under the limit of 50');
  t.equal(pools, 1);
  t.equal(pool.clientCount, 30);
});

t.test('close() waits for running requests of the current and the retiring pools', async (t) => {
  const server = await startHoldingServer();
  t.teardown(server.close);
  const pool = new RecyclingPool(() => new Pool(server.origin, { connections: null, pipelining: 1, keepAliveTimeout: 200, keepAliveMaxTimeout: 200 }), 0);
  const first = get(pool, server.origin + '/held');
  await waitFor(() => server.heldCount() === 1, 'the first request');
  // Limit 0: a single disconnected Client is enough; none yet, as the one Client is connected.
  t.notOk(pool.recycleIfWasteful());
  let closed = false;
  const closing = pool.close().then(() => { closed = true; });
  await sleep(100);
  t.notOk(closed, 'close() waits for the running request');
  server.releaseAll();
  t.equal(await first, 'released');
  await closing;
  t.ok(closed);
});
