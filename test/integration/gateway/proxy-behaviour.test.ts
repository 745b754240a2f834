import t, { type Test } from 'tap';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { startGateway, type GatewayHandle } from './fixtures/gateway-harness.js';
import { startHttpUpstream, trickle, type HttpUpstream } from './fixtures/http-upstream.js';
import { openSocket, readAtLeast, waitFor } from './fixtures/raw-client.js';

/**
 * Proxy behaviour that needs an upstream which misbehaves on purpose (never answers, stalls, dies
 * mid-body, does not read) or lets the test observe the upstream side of an abort: a small real
 * node:http server stands in for the homeserver here. Two gateway threads, as in production.
 */

const MiB = 1024 * 1024;

/** What the upstream saw of one request. */
interface Seen {
  received: number;
  complete: boolean;
  closed: boolean;
  responseFinished: boolean;
  written: number;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
}

const seen = new Map<string, Seen>();
let releaseUpload: (() => void) | null = null;
let resumeNeverReads: (() => void) | null = null;

function track(req: IncomingMessage, res: ServerResponse): Seen {
  const entry: Seen = { received: 0, complete: false, closed: false, responseFinished: false, written: 0, headers: req.headers, rawHeaders: req.rawHeaders };
  seen.set(req.headers['x-test-id'] as string ?? req.url ?? '', entry);
  req.on('data', (chunk: Buffer) => {
    entry.received += chunk.length;
  });
  req.on('end', () => {
    entry.complete = true;
  });
  res.on('close', () => {
    entry.closed = true;
    entry.responseFinished = res.writableFinished;
  });
  return entry;
}

/** Writes `total` bytes in 1 MiB chunks as fast as the connection takes them. */
function stream(res: ServerResponse, entry: Seen, total: number): void {
  const chunk = Buffer.alloc(MiB, 0x61);
  const pump = (): void => {
    while (entry.written < total && !res.destroyed) {
      const size = Math.min(MiB, total - entry.written);
      entry.written += size;
      if (entry.written >= total) {
        res.end(chunk.subarray(0, size));
        return;
      }
      if (!res.write(chunk.subarray(0, size))) {
        res.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

const upstream: HttpUpstream = await startHttpUpstream((req, res) => {
  const entry = track(req, res);
  const path = (req.url ?? '').split('?')[0];
  switch (path) {
    case '/upload':
      req.resume();
      req.on('end', () => res.end(JSON.stringify({ received: entry.received })));
      return;
    case '/stalled-upload':
      // Reads nothing until the test releases it.
      req.pause();
      releaseUpload = () => {
        req.resume();
        req.on('end', () => res.end(JSON.stringify({ received: entry.received })));
      };
      return;
    case '/download':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(256 * MiB) });
      stream(res, entry, 256 * MiB);
      return;
    case '/download-32':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(32 * MiB) });
      stream(res, entry, 32 * MiB);
      return;
    case '/download-32-chunked':
      // No Content-Length: node:http frames the body chunked, and so does the gateway.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      stream(res, entry, 32 * MiB);
      return;
    case '/never':
      return;
    case '/never-reads':
      req.pause();
      resumeNeverReads = () => req.resume();
      return;
    case '/_matrix/client/v3/sync':
    case '/_matrix/client/v3/slow':
      setTimeout(() => res.end('{"slow":true}'), 1800);
      return;
    case '/trickle': {
      // 10 chunks, 300 ms apart: longer than the exchange cap in total, never idle for long.
      res.writeHead(200, { 'content-type': 'text/plain' });
      trickle(res, 10, 300, (i) => `chunk ${i}\n`, 'done\n');
      return;
    }
    case '/stall-body':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
      res.write('x'.repeat(100));
      return;
    case '/die-mid-body':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(MiB) });
      res.write(Buffer.alloc(100 * 1024));
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    case '/headers':
      req.resume();
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.setHeader('Connection', 'keep-alive, X-Hop');
      res.setHeader('X-Hop', 'must not reach the client');
      res.setHeader('Keep-Alive', 'timeout=60');
      res.setHeader('Proxy-Authenticate', 'Basic');
      res.setHeader('X-Utf8', 'été'); // node:http sends this as UTF-8 bytes
      res.end(JSON.stringify({ headers: req.rawHeaders }));
      return;
    case '/head':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1234' });
      res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1234));
      return;
    case '/no-content':
      res.writeHead(204);
      res.end();
      return;
    default:
      req.resume();
      res.end(JSON.stringify({ ok: true, path }));
  }
});
t.teardown(() => upstream.close());

// Streaming and abort tests get generous timeouts (an upstream that stops reading for longer than
// Matrix.TimeoutMilliseconds is cut, by design); the timeout tests get a second gateway whose
// timeouts are short enough to observe.
const gw: GatewayHandle = await startGateway({ upstream: upstream.url, threads: 2, upstreamTimeoutMs: 10_000, exchangeTimeoutMs: 20_000 });
t.teardown(() => gw.stop());
const impatient: GatewayHandle = await startGateway({ upstream: upstream.url, threads: 2, upstreamTimeoutMs: 1000, exchangeTimeoutMs: 2000 });
t.teardown(() => impatient.stop());

async function stillServes(t: Test): Promise<void> {
  for (let i = 0; i < 4; i++) {
    const response = await request(`${gw.baseUrl}/ok`, { reset: true });
    t.equal(response.statusCode, 200, 'the gateway still serves');
    await response.body.dump();
  }
}

t.test('a client abort mid-upload aborts the upstream request', async (t) => {
  const socket = await openSocket(gw.port);
  socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nX-Test-Id: abort-upload\r\nContent-Length: ${10 * MiB}\r\n\r\n`);
  socket.write(Buffer.alloc(MiB));
  await waitFor('the upstream to receive part of the body', () => (seen.get('abort-upload')?.received ?? 0) > 256 * 1024);
  socket.destroy();
  await waitFor('the upstream request to be cut', () => seen.get('abort-upload')?.closed === true);
  const entry = seen.get('abort-upload')!;
  t.equal(entry.complete, false, 'the upstream never got a complete body');
  t.ok(entry.received < 10 * MiB);
  await stillServes(t);
});

t.test('a client abort mid-download aborts the upstream request', async (t) => {
  const socket = await openSocket(gw.port);
  socket.write('GET /download HTTP/1.1\r\nHost: x\r\nX-Test-Id: abort-download\r\n\r\n');
  await readAtLeast(socket, 64 * 1024);
  socket.destroy();
  await waitFor('the upstream response to be cut', () => seen.get('abort-download')?.closed === true);
  t.equal(seen.get('abort-download')!.responseFinished, false, 'the upstream could not finish its response');
  await stillServes(t);
});

t.test('a client that does not read holds the upstream back (download backpressure)', async (t) => {
  const socket = await openSocket(gw.port);
  socket.pause();
  socket.write('GET /download HTTP/1.1\r\nHost: x\r\nX-Test-Id: slow-reader\r\n\r\n');
  await waitFor('the download to start', () => (seen.get('slow-reader')?.written ?? 0) > 0);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const written = seen.get('slow-reader')!.written;
  t.ok(written < 64 * MiB, `the upstream wrote only ${Math.round(written / MiB)} MiB of 256 while the client read nothing`);
  socket.destroy();
  await waitFor('the upstream response to be cut', () => seen.get('slow-reader')?.closed === true);
});

t.test('a client that stops reading for a while, then reads on, gets the whole download (both framings)', async (t) => {
  for (const path of ['/download-32', '/download-32-chunked']) {
    const response = await request(`${gw.baseUrl}${path}`, { headers: { 'x-test-id': `pausing-reader${path}` }, reset: true });
    t.equal(response.statusCode, 200, `${path}: status`);
    t.equal(response.headers['transfer-encoding'], path.endsWith('chunked') ? 'chunked' : undefined, `${path}: framing`);
    // Read nothing for a while: the gateway's writes to the client back up (uWS' writable event).
    await new Promise((resolve) => setTimeout(resolve, 700));
    const body = Buffer.from(await response.body.arrayBuffer());
    t.equal(body.length, 32 * MiB, `${path}: every byte arrived`);
    t.ok(body.every((byte) => byte === 0x61), `${path}: unchanged`);
    await waitFor(`${path}: the upstream response to complete`, () => seen.get(`pausing-reader${path}`)?.responseFinished === true);
  }
  await stillServes(t);
});

t.test('an upstream that does not read holds the client back (upload backpressure)', async (t) => {
  const total = 200 * MiB;
  const socket = await openSocket(gw.port);
  socket.write(`POST /stalled-upload HTTP/1.1\r\nHost: x\r\nX-Test-Id: stalled-upload\r\nContent-Length: ${total}\r\n\r\n`);
  const chunk = Buffer.alloc(MiB, 0x62);
  let accepted = 0;
  let stop = false;
  const pump = async (): Promise<void> => {
    while (accepted < total && !stop) {
      accepted += chunk.length;
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
    }
  };
  const pumping = pump();
  await waitFor('the upstream to see the request', () => releaseUpload !== null);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.ok(accepted < 64 * MiB, `the client could hand over only ${Math.round(accepted / MiB)} MiB of 200 while the upstream read nothing`);
  const answer = readAtLeast(socket, 1, 30_000).then(async () => socket);
  releaseUpload!();
  await pumping;
  stop = true;
  await answer;
  await waitFor('the upstream to get the whole body', () => seen.get('stalled-upload')?.complete === true, 30_000);
  t.equal(seen.get('stalled-upload')!.received, total, 'every byte arrived once the upstream read again');
  socket.destroy();
});

t.test('an upstream that never answers gets a 504 Matrix error with CORS', async (t) => {
  const started = Date.now();
  const response = await request(`${impatient.baseUrl}/never`, { headers: { 'x-test-id': 'never' } });
  const body = await response.body.json();
  t.equal(response.statusCode, 504);
  t.same(body, { errcode: 'M_UNKNOWN', error: 'The homeserver did not answer in time' });
  t.equal(response.headers['access-control-allow-origin'], '*');
  t.ok(Date.now() - started < 5000, 'answered within the configured timeouts');
  await waitFor('the upstream request to be cut', () => seen.get('never')?.closed === true);
});

t.test('an upstream that stops reading an upload gets a 504 and the upload is cut', async (t) => {
  const socket = await openSocket(impatient.port);
  socket.write(`POST /never-reads HTTP/1.1\r\nHost: x\r\nX-Test-Id: never-reads\r\nContent-Length: ${100 * MiB}\r\n\r\n`);
  socket.on('error', () => {});
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < 100 && socket.write(chunk); i++);
  const answer = (await readAtLeast(socket, Number.MAX_SAFE_INTEGER, 10_000)).toString('latin1');
  t.match(answer, /^HTTP\/1.1 504 /);
  t.ok(answer.endsWith('{"errcode":"M_UNKNOWN","error":"The homeserver did not answer in time"}'));
  // A paused node:http request notices the reset only once it reads again.
  resumeNeverReads!();
  await waitFor('the upstream request to be cut', () => seen.get('never-reads')?.closed === true);
  t.equal(seen.get('never-reads')!.complete, false, 'the upstream never got the whole body');
  t.ok(socket.readableEnded || socket.destroyed, 'the connection is closed rather than drained');
  socket.destroy();
});

t.test('long-polls wait for the client timeout on top of the upstream timeout', async (t) => {
  // The upstream answers after 1.8 s; Matrix.TimeoutMilliseconds is 1 s.
  const slow = await request(`${impatient.baseUrl}/_matrix/client/v3/slow?timeout=2000`);
  await slow.body.dump();
  t.equal(slow.statusCode, 504, 'an ordinary route times out');
  const sync = await request(`${impatient.baseUrl}/_matrix/client/v3/sync?timeout=2000`);
  t.same(await sync.body.json(), { slow: true });
  t.equal(sync.statusCode, 200, '/sync gets its timeout parameter added');
  const syncWithoutTimeout = await request(`${impatient.baseUrl}/_matrix/client/v3/sync`);
  await syncWithoutTimeout.body.dump();
  t.equal(syncWithoutTimeout.statusCode, 504, '/sync without a timeout parameter gets only the upstream timeout');
});

t.test('a body that keeps moving outlives the exchange cap; a stalled one is cut', async (t) => {
  const trickle = await request(`${impatient.baseUrl}/trickle`);
  const text = await trickle.body.text();
  t.ok(text.endsWith('done\n'), 'a 3 s trickle with short gaps completes despite the 2 s cap');
  const socket = await openSocket(impatient.port);
  socket.write('GET /stall-body HTTP/1.1\r\nHost: x\r\n\r\n');
  const received = await readAtLeast(socket, Number.MAX_SAFE_INTEGER, 10_000);
  t.ok(socket.destroyed || socket.readableEnded, 'the connection was closed');
  t.ok(received.toString('latin1').includes('Content-Length: 1000'), 'the head had been sent');
  t.ok(received.length < 1000 + 200, 'the body stayed short: the client can tell the response is truncated');
});

t.test('an upstream dying mid-body closes the client connection', async (t) => {
  const socket = await openSocket(gw.port);
  socket.write('GET /die-mid-body HTTP/1.1\r\nHost: x\r\n\r\n');
  const received = await readAtLeast(socket, Number.MAX_SAFE_INTEGER, 10_000);
  t.ok(received.toString('latin1').startsWith('HTTP/1.1 200'), 'the head was sent');
  t.ok(received.length < MiB, 'the client got less than the announced length and a closed connection');
  await stillServes(t);
});

t.test('headers: hop-by-hop removed both ways, forwarding headers set, framing written once', async (t) => {
  const socket = await openSocket(gw.port);
  socket.write([
    'POST /headers HTTP/1.1', 'Host: client.example', 'Connection: keep-alive, X-Drop-Me, Authorization', 'X-Drop-Me: 1', 'Keep-Alive: 5',
    'Proxy-Authorization: Basic Zm9v', 'TE: trailers', 'Upgrade: h2c', 'X-Forwarded-For: 10.0.0.1', 'X-Forwarded-Proto: https',
    'Authorization: Bearer kept', 'X-Custom: a', 'X-Custom: b', 'Content-Length: 2', '', '{}',
  ].join('\r\n'));
  const raw = (await readAtLeast(socket, 1, 5000)).toString('latin1');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const head = raw.split('\r\n\r\n')[0]!;
  const lines = head.split('\r\n').map((line) => line.toLowerCase());
  t.equal(lines.filter((line) => line.startsWith('content-length:')).length, 1, 'one Content-Length');
  t.equal(lines.filter((line) => line.startsWith('date:')).length, 1, 'one Date');
  t.equal(lines.filter((line) => line.startsWith('transfer-encoding:')).length, 0);
  t.equal(lines.filter((line) => line.startsWith('set-cookie:')).length, 2, 'repeated headers stay repeated');
  for (const hop of ['x-hop:', 'keep-alive:', 'proxy-authenticate:', 'connection: keep-alive, x-hop']) {
    t.notOk(lines.some((line) => line.startsWith(hop)), `${hop} removed from the response`);
  }
  t.ok(head.includes(`X-Utf8: ${Buffer.from('été', 'utf8').toString('latin1')}`), 'non-ASCII header bytes are passed unchanged');
  const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { headers: string[] };
  const sent = new Map<string, string[]>();
  for (let i = 0; i < body.headers.length; i += 2) {
    const name = body.headers[i]!.toLowerCase();
    sent.set(name, [...(sent.get(name) ?? []), body.headers[i + 1]!]);
  }
  t.same(sent.get('host'), ['client.example'], "the client's Host is kept");
  t.same(sent.get('x-forwarded-for'), ['10.0.0.1, 127.0.0.1'], 'the peer is appended to X-Forwarded-For');
  t.same(sent.get('x-forwarded-proto'), ['https'], 'an incoming X-Forwarded-Proto is kept');
  t.same(sent.get('x-forwarded-host'), ['client.example']);
  t.same(sent.get('authorization'), ['Bearer kept'], 'Connection cannot remove Authorization');
  t.same(sent.get('x-custom'), ['a', 'b']);
  for (const hop of ['x-drop-me', 'keep-alive', 'proxy-authorization', 'te', 'upgrade']) t.notOk(sent.has(hop), `${hop} not forwarded`);
  socket.destroy();
});

t.test('HEAD and 204 answers carry no body and keep the connection usable', async (t) => {
  const socket = await openSocket(gw.port);
  socket.write('HEAD /head HTTP/1.1\r\nHost: x\r\n\r\n');
  const head = (await readAtLeast(socket, 1, 5000)).toString('latin1');
  t.match(head, /content-length: 1234\r\n/i, 'the length the body would have');
  t.ok(head.endsWith('\r\n\r\n'), 'no body');
  socket.write('GET /no-content HTTP/1.1\r\nHost: x\r\n\r\n');
  const noContent = (await readAtLeast(socket, 1, 5000)).toString('latin1');
  t.match(noContent, /^HTTP\/1.1 204 /);
  t.notMatch(noContent, /content-length/i);
  socket.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n');
  const next = (await readAtLeast(socket, 1, 5000)).toString('latin1');
  t.match(next, /^HTTP\/1.1 200 /, 'the next request on the same connection works');
  socket.destroy();
});
