import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, request, type Dispatcher } from 'undici';
import { RecyclingPool } from '../../../../src/gateway/upstream/recycling-pool.js';

/** A server that holds every `/held` request until `releaseAll()`, and answers the rest at once. */
async function startHoldingServer(): Promise<{ origin: string; releaseAll: () => void; releaseOne: () => void; heldCount: () => number; close: () => Promise<void> }> {
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
    releaseOne: () => { held.shift()?.end('released'); },
    heldCount: () => held.length,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A recycling pool over uncapped pools that drop idle connections after 200 ms, and the pools it made. */
function recordingPool(origin: string, idleClientLimit: number): { pool: RecyclingPool; created: Pool[] } {
  const created: Pool[] = [];
  const pool = new RecyclingPool(() => {
    const made = new Pool(origin, { connections: null, pipelining: 1, keepAliveTimeout: 200, keepAliveMaxTimeout: 200 });
    created.push(made);
    return made;
  }, idleClientLimit);
  return { pool, created };
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

/**
 * A holding server and a recording pool in front of it, both ended at teardown (destroying a pool a
 * test already closed changes nothing).
 */
async function poolBehindServer(t: Test, idleClientLimit: number) {
  const server = await startHoldingServer();
  t.teardown(server.close);
  const recorded = recordingPool(server.origin, idleClientLimit);
  t.teardown(() => recorded.pool.destroy());
  return { server, ...recorded };
}

/** Starts `count` requests the server holds, and waits until all reached it. */
async function heldBurst(pool: RecyclingPool, server: { origin: string; heldCount: () => number }, count: number): Promise<Array<Promise<string>>> {
  const burst = Array.from({ length: count }, () => get(pool, server.origin + '/held'));
  await waitFor(() => server.heldCount() === count, `a burst of ${count} to reach the server`);
  return burst;
}

t.test('a burst leaves no Clients behind once their connections are gone; running requests finish', async (t) => {
  const { server, pool, created } = await poolBehindServer(t, 50);

  const burst = await heldBurst(pool, server, 120);
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
  const { server, pool, created } = await poolBehindServer(t, 50);

  const burst = await heldBurst(pool, server, 30);
  server.releaseAll();
  await Promise.all(burst);
  await waitFor(() => pool.connectedCount === 0, 'every connection to close');
  t.notOk(pool.recycleIfWasteful(), '30 disconnected Clients are under the limit of 50');
  t.equal(created.length, 1);
  t.equal(pool.clientCount, 30);
});

t.test('close() waits for running requests of the current and the retiring pools', async (t) => {
  const { server, pool } = await poolBehindServer(t, 0);
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

t.test('close() also waits for a retiring pool\'s running request; a closed pool is never replaced again', async (t) => {
  const { server, pool, created } = await poolBehindServer(t, 0);
  // Two Clients: one finishes and disconnects, one stays running; the pool is then replaced.
  const short = get(pool, server.origin + '/held');
  const running = get(pool, server.origin + '/held');
  await waitFor(() => server.heldCount() === 2, 'both requests');
  server.releaseOne();
  await short;
  await waitFor(() => pool.recycleIfWasteful(), 'the pool to be replaced');
  t.equal(pool.retiringCount, 1);
  let closed = false;
  const closing = pool.close().then(() => { closed = true; });
  await sleep(100);
  t.notOk(closed, 'close() waits for the retiring pool');
  server.releaseAll();
  t.equal(await running, 'released');
  await closing;
  t.ok(created[0]!.closed && created[1]!.closed, 'both pools closed');
  t.notOk(pool.recycleIfWasteful(), 'no pool is opened after close()');
  t.equal(created.length, 2);
});

t.test('events of a replaced pool do not count for the current one', async (t) => {
  const { server, pool, created } = await poolBehindServer(t, 0);
  t.equal(await get(pool, server.origin + '/fast'), 'ok');
  await waitFor(() => pool.recycleIfWasteful(), 'the pool to be replaced');
  created[0]!.emit('connect', new URL(server.origin), [created[0]!, {} as never]);
  t.equal(pool.clientCount, 0, 'a late event of the old pool is ignored');
});
