import t from 'tap';
import { request } from 'undici';
import { startGateway } from './fixtures/gateway-harness.js';
import { startHttpUpstream } from './fixtures/http-upstream.js';
import { openSocket, waitFor } from './fixtures/raw-client.js';

/**
 * Red team 4, F2: a client that leaves while its request body is still arriving, and while the
 * request waits in the upstream pool for a free connection (every connection busy), used to
 * crash the gateway thread (the body stream failed with nobody listening yet). With one upstream
 * connection, one slow request holds it and the uploads behind it queue.
 */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let releaseHold: () => void = () => {};
const upstream = await startHttpUpstream((req, res) => {
  req.resume();
  req.on('error', () => {});
  res.on('error', () => {});
  if ((req.url ?? '').startsWith('/hold')) {
    releaseHold = () => res.end('held');
  } else {
    req.on('end', () => res.end('ok'));
  }
});
t.teardown(() => upstream.close());

const gw = await startGateway({ upstream: upstream.url, threads: 1, gateway: { UpstreamConnections: 1 } });
t.teardown(() => gw.stop());

t.test('aborting queued uploads mid-body leaves the thread serving', async (t) => {
  const held = request(`${gw.baseUrl}/hold`);
  await waitFor('the held request to reach the upstream', () => upstream.open === 1, 5_000);

  for (let i = 0; i < 10; i++) {
    const socket = await openSocket(gw.port);
    socket.on('error', () => {});
    socket.write('POST /_matrix/client/v3/keys/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n');
    socket.write('abcdef');
    await sleep(50);
    if (i % 2 === 0) socket.resetAndDestroy();
    else socket.destroy();
  }
  await sleep(300);
  t.equal(gw.supervisor.threads.alive, 1, 'the gateway thread is alive');

  releaseHold();
  t.equal(await (await held).body.text(), 'held', 'the request holding the connection completed');
  const after = await request(`${gw.baseUrl}/quick`, { method: 'POST', body: 'x' });
  t.equal(await after.body.text(), 'ok', 'a new upload goes through');
  await waitFor('every upstream request to be closed', () => upstream.open === 0, 5_000);
  const trouble = gw.supervisorLogs().filter((line) => (line['level'] as number) >= 40);
  t.same(trouble, [], 'the supervisor saw no thread exit or failure');
});
