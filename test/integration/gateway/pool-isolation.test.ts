import t from 'tap';
import type { Socket } from 'node:net';
import { request } from 'undici';
import { startGateway } from './fixtures/gateway-harness.js';
import { startHttpUpstream } from './fixtures/http-upstream.js';
import { openSocket, waitFor } from './fixtures/raw-client.js';

/**
 * Red team 4, F1 and F4: what one unauthenticated client can hold in the gateway's upstream pools
 * must not delay anybody else. The upstream never answers whoami for unknown tokens and never
 * finishes reading uploads, so without isolation the requests of a user with a cached token would
 * queue behind them for `Matrix.TimeoutMilliseconds` (30 s here; each check below allows 5 s).
 */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let whoamiOpen = 0;
let whoamiSeen = 0;
let uploadsOpen = 0;
const upstream = await startHttpUpstream((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  req.on('error', () => {});
  res.on('error', () => {});
  if (path === '/_matrix/client/v3/account/whoami') {
    if (req.headers.authorization === 'Bearer good') return void res.end(JSON.stringify({ user_id: '@good:localhost' }));
    whoamiSeen++;
    whoamiOpen++;
    res.once('close', () => whoamiOpen--);
    return; // never answered: a homeserver buried under look-ups
  }
  if (path === '/upload') {
    uploadsOpen++;
    res.once('close', () => uploadsOpen--);
    req.resume(); // reads, but the client never finishes sending
    return;
  }
  req.resume();
  req.on('end', () => res.end('ok'));
});
t.teardown(() => upstream.close());

const UPSTREAM_CONNECTIONS = 4;
const gw = await startGateway({
  upstream: upstream.url,
  threads: 1,
  upstreamTimeoutMs: 30_000,
  exchangeTimeoutMs: 60_000,
  gateway: { UpstreamConnections: UPSTREAM_CONNECTIONS },
});
t.teardown(() => gw.stop());

/** The legitimate user: a cached token, a prompt answer expected. */
async function cachedUserGets(): Promise<string> {
  const response = await request(`${gw.baseUrl}/_matrix/client/v3/joined_rooms`, {
    headers: { authorization: 'Bearer good' },
    signal: AbortSignal.timeout(5_000),
  });
  return response.body.text();
}

t.test('the cached user is answered', async (t) => {
  t.equal(await cachedUserGets(), 'ok');
});

t.test('F1: look-ups of clients that left are cancelled, and never delay proxied requests', async (t) => {
  const attackers: Socket[] = [];
  for (let i = 0; i < 300; i++) {
    const socket = await openSocket(gw.port);
    socket.on('error', () => {});
    socket.write(`GET /_matrix/client/v3/joined_rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer random-${i}\r\n\r\n`);
    attackers.push(socket);
  }
  await waitFor('look-ups to reach the upstream', () => whoamiOpen > 0, 5_000);
  t.equal(await cachedUserGets(), 'ok', 'answered while 300 look-ups are pending');
  t.ok(whoamiOpen <= 32, `the gateway's own calls use a pool of their own (${whoamiOpen} at the upstream)`);

  for (const socket of attackers) socket.destroy();
  await waitFor('every abandoned look-up to be cancelled at the upstream', () => whoamiOpen === 0, 5_000);
  t.equal(whoamiOpen, 0);
  t.ok(whoamiSeen < 300, `look-ups still queued when their clients left never reached the upstream (${whoamiSeen} did)`);
});

t.test('F4: slow uploads cannot take the connections every other request needs', async (t) => {
  const uploaders: Socket[] = [];
  for (let i = 0; i < UPSTREAM_CONNECTIONS * 3; i++) {
    const socket = await openSocket(gw.port);
    socket.on('error', () => {});
    socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n');
    socket.write(Buffer.alloc(1024));
    uploaders.push(socket);
  }
  await waitFor('the uploads to reach the upstream', () => uploadsOpen === UPSTREAM_CONNECTIONS * 3, 5_000);
  t.equal(await cachedUserGets(), 'ok', `answered while ${uploadsOpen} uploads hold upstream connections`);
  for (const socket of uploaders) socket.destroy();
  await waitFor('the uploads to be aborted upstream', () => uploadsOpen === 0, 5_000);
  await sleep(50);
  t.equal(gw.supervisor.threads.alive, 1);
});
