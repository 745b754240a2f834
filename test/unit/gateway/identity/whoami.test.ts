import t, { type Test } from 'tap';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { createWhoamiLookup, MASQUERADE_REFUSED } from '../../../../src/gateway/identity/whoami.js';
import { EXPIRED_TOKEN, UNKNOWN_TOKEN } from '../../../../src/gateway/identity/identity.js';
import { exceedsUpstreamHeadLimit, UPSTREAM_HEAD_LIMIT_BYTES } from '../../../../src/gateway/upstream/header-section.js';

/** The `Host` the look-ups claim; only its length counts (towards the head limit). */
const HOST = '127.0.0.1:8008';

/** A homeserver answering with `handler` on 127.0.0.1, and a pool to it; both closed at teardown. */
async function answering(t: Test, handler: RequestListener): Promise<Pool> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.teardown(async () => {
    await pool.close();
    server.close();
  });
  return pool;
}

/** A homeserver that knows no token (401 `M_UNKNOWN_TOKEN`), its pool, and how often it was asked. */
async function unknownToEveryToken(t: Test): Promise<{ pool: Pool; asked: () => number }> {
  let asked = 0;
  const pool = await answering(t, (_req, res) => {
    asked++;
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"errcode":"M_UNKNOWN_TOKEN"}');
  });
  return { pool, asked: () => asked };
}

/**
 * The look-up's time limit covers the whole exchange: an answer trickled a byte at a time (each
 * byte well within undici's per-chunk body timeout) is given up at the deadline, not followed to
 * its end.
 */
t.test('a trickled answer is cut at the deadline', async (t) => {
  const answer = JSON.stringify({ user_id: '@slow:hs', device_id: 'D' });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(answer.length) });
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed || sent >= answer.length) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write(answer[sent]);
      sent += 1;
    }, 40);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.teardown(async () => {
    await pool.close();
    server.closeAllConnections();
    server.close();
  });
  // 45 bytes × 40 ms ≈ 1.8 s in all; every chunk arrives far within 300 ms.
  const lookup = createWhoamiLookup({ dispatcher: pool, basePath: '', host: HOST, timeoutMs: 300 });
  await t.rejects(lookup('some-token', null), {
    code: 'CORP_ERR_WHOAMI_TIMEOUT', status: 504, message: 'The homeserver did not answer the access token check in time',
    cause: { message: /no complete whoami answer within 300 ms/ },
  });
});

t.test('no answer at all is a timeout (504); a refused connection is not (502)', async (t) => {
  const server = createServer(() => { /* never answers */ });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const pool = new Pool(`http://127.0.0.1:${port}`);
  t.teardown(async () => {
    await pool.destroy();
    server.closeAllConnections();
    server.close();
  });
  const silent = createWhoamiLookup({ dispatcher: pool, basePath: '', host: HOST, timeoutMs: 200 });
  await t.rejects(silent('some-token', null), { code: 'CORP_ERR_WHOAMI_TIMEOUT', status: 504 });

  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const refusedPool = new Pool(`http://127.0.0.1:${closedPort}`);
  t.teardown(() => refusedPool.destroy());
  const refused = createWhoamiLookup({ dispatcher: refusedPool, basePath: '', host: HOST, timeoutMs: 2000 });
  await t.rejects(refused('some-token', null), { code: 'CORP_ERR_WHOAMI_FAILED', status: 502 });
});

t.test('a prompt answer resolves', async (t) => {
  const handler: RequestListener = (req, res) => {
    const good = req.headers.authorization === 'Bearer good';
    res.writeHead(good ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(good ? { user_id: '@u:hs', device_id: 'D' } : { errcode: 'M_UNKNOWN_TOKEN' }));
  };
  const pool = await answering(t, handler);
  const lookup = createWhoamiLookup({ dispatcher: pool, basePath: '', host: HOST, timeoutMs: 5000 });
  t.same(await lookup('good', null), { kind: 'user', userId: '@u:hs', deviceId: 'D', isGuest: false });
  t.same(await lookup('bad', null), { kind: 'unknown-token' });
});

t.test('an expired token (Synapse\'s soft_logout: true) is told apart from an unknown one (parity 18, P4)', async (t) => {
  const handler: RequestListener = (req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    const answers: Record<string, unknown> = {
      'Bearer expired': { errcode: 'M_UNKNOWN_TOKEN', error: 'Access token has expired', soft_logout: true },
      'Bearer hard': { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.', soft_logout: false },
      'Bearer odd': { errcode: 'M_UNKNOWN_TOKEN', soft_logout: 'true' },
    };
    res.end(JSON.stringify(answers[req.headers.authorization ?? ''] ?? { errcode: 'M_UNKNOWN_TOKEN' }));
  };
  const pool = await answering(t, handler);
  const lookup = createWhoamiLookup({ dispatcher: pool, basePath: '', host: HOST, timeoutMs: 5000 });
  t.equal(await lookup('expired', null), EXPIRED_TOKEN);
  t.same(await lookup('expired', null), { kind: 'unknown-token', softLogout: true });
  t.equal(await lookup('hard', null), UNKNOWN_TOKEN, 'soft_logout: false is an unknown token');
  t.equal(await lookup('odd', null), UNKNOWN_TOKEN, 'only the JSON true counts');
  t.equal(await lookup('plain', null), UNKNOWN_TOKEN, 'no soft_logout at all');
});

t.test('Synapse refusing an appservice user_id is the client\'s error, passed on as Synapse gave it (red team 16, F6)', async (t) => {
  const handler: RequestListener = (req, res) => {
    const asUser = new URL(req.url ?? '/', 'http://hs').searchParams.get('user_id');
    const [status, errcode] = asUser === '@outside:hs' ? [403, 'M_FORBIDDEN'] : [400, 'M_EXCLUSIVE'];
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errcode, error: `Application service cannot masquerade as this user (${asUser}).` }));
  };
  const pool = await answering(t, handler);
  const lookup = createWhoamiLookup({ dispatcher: pool, basePath: '', host: HOST, timeoutMs: 5000 });
  await t.rejects(lookup('as-token', Buffer.from('@outside:hs')), {
    code: MASQUERADE_REFUSED, source: 'client', status: 403, errcode: 'M_FORBIDDEN', message: 'Application service cannot masquerade as this user (@outside:hs).',
  });
  await t.rejects(lookup('as-token', Buffer.from('@other:hs')), { code: MASQUERADE_REFUSED, status: 400, errcode: 'M_EXCLUSIVE' });
  await t.rejects(lookup('as-token', null), { code: 'CORP_ERR_WHOAMI_FAILED', status: 502 }, 'without user_id, a 4xx other than the known ones stays a homeserver failure');
});

t.test('a 500 names the likeliest cause when the homeserver is reached over a Unix socket', async (t) => {
  const handler: RequestListener = (_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end('{"errcode":"M_UNKNOWN","error":"Internal server error"}');
  };
  const pool = await answering(t, handler);
  const overSocket = createWhoamiLookup({ dispatcher: pool, basePath: '', host: HOST, timeoutMs: 5000, socketPath: '/run/synapse/client.sock' });
  await t.rejects(overSocket('t', null), {
    message: 'The access token could not be checked with the homeserver',
    cause: { message: 'whoami answered HTTP 500 M_UNKNOWN (if Synapse\'s Unix-socket listener lacks `x_forwarded: true`, it answers 500; see docs/deployment.md)' },
  });
  const overTcp = createWhoamiLookup({ dispatcher: pool, basePath: '', host: HOST, timeoutMs: 5000 });
  await t.rejects(overTcp('t', null), { cause: { message: 'whoami answered HTTP 500 M_UNKNOWN' } });
});

t.test('a token too long for a request head Synapse takes is refused (431) without asking (audit 14)', async (t) => {
  const { pool, asked } = await unknownToEveryToken(t);
  const lookup = createWhoamiLookup({ dispatcher: pool, basePath: '', host: HOST, timeoutMs: 5000 });
  t.same(await lookup('t'.repeat(15_000), null), { kind: 'unknown-token' }, 'a long token within the limit is asked');
  t.equal(asked(), 1);
  await t.rejects(lookup('t'.repeat(16_384), null), { code: 'CORP_ERR_REQUEST_HEAD_TOO_LARGE', status: 431, errcode: 'M_TOO_LARGE' }, 'in the header');
  await t.rejects(lookup(' '.repeat(6_000), null), { code: 'CORP_ERR_REQUEST_HEAD_TOO_LARGE' }, 'in the query, where each space takes 3 bytes (%20)');
  t.equal(asked(), 1, 'neither was sent');
});

t.test('over a Unix socket, the X-Forwarded-For the dispatcher adds counts towards the head limit', async (t) => {
  const { pool, asked } = await unknownToEveryToken(t);
  const overTcp = createWhoamiLookup({ dispatcher: pool, basePath: '', host: HOST, timeoutMs: 5000 });
  // The longest header token a look-up over TCP still sends.
  let length = UPSTREAM_HEAD_LIMIT_BYTES;
  while (exceedsUpstreamHeadLimit('GET', '/_matrix/client/v3/account/whoami', ['authorization', `Bearer ${'t'.repeat(length)}`], HOST, false)) length--;
  t.same(await overTcp('t'.repeat(length), null), { kind: 'unknown-token' }, 'over TCP: asked');
  t.equal(asked(), 1);
  // Over a socket the same token's head carries `x-forwarded-for: 127.0.0.1` too: past the limit.
  const overSocket = createWhoamiLookup({ dispatcher: pool, basePath: '', host: HOST, timeoutMs: 5000, socketPath: '/run/synapse/client.sock' });
  await t.rejects(overSocket('t'.repeat(length), null), { code: 'CORP_ERR_REQUEST_HEAD_TOO_LARGE', status: 431 }, 'over a socket: refused');
  t.same(await overSocket('t'.repeat(length - 'x-forwarded-for: 127.0.0.1'.length), null), { kind: 'unknown-token' }, 'and asked once it fits');
  t.equal(asked(), 2);
});
