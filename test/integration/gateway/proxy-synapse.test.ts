import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';
import { startSynapse } from '../../support/start-synapse.js';
import { matrixCall, matrixRequest, createRoom, sendMessage } from '../../support/matrix-client.js';
import { MAX_REQUEST_TARGET_LENGTH } from '../../../src/gateway/router/index.js';
import { exceedsUpstreamHeadLimit, UPSTREAM_HEAD_LIMIT_BYTES } from '../../../src/gateway/upstream/header-section.js';
import { startGateway } from './fixtures/gateway-harness.js';
import { openSocket, readAtLeast } from './fixtures/raw-client.js';

/**
 * The data plane against a real Synapse: everything a client does goes through Corporal's real
 * gateway threads (2, SO_REUSEPORT) and is checked end to end.
 */
const hs = await startSynapse({ enableRegistration: true });
t.teardown(() => hs.stop());
const gw = await startGateway({ upstream: hs.baseUrl, threads: 2 });
t.teardown(() => gw.stop());

const MEDIA_BYTES = 20 * 1024 * 1024;

interface Session {
  userId: string;
  token: string;
}

async function registerThroughGateway(localpart: string, password: string): Promise<Session> {
  const path = '/_matrix/client/v3/register';
  const first = await matrixRequest(gw.baseUrl, 'POST', path, { body: { username: localpart, password } });
  const session = (first.json as { session?: string }).session;
  if (first.status !== 401 || session === undefined) throw new Error(`register: expected a UIA 401, got ${first.status} ${first.text}`);
  const done = await matrixCall<{ user_id: string; access_token: string }>(gw.baseUrl, 'POST', path, {
    body: { username: localpart, password, auth: { type: 'm.login.dummy', session } },
  });
  return { userId: done.user_id, token: done.access_token };
}

async function loginThroughGateway(localpart: string, password: string): Promise<Session> {
  const session = await matrixCall<{ user_id: string; access_token: string }>(gw.baseUrl, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: localpart }, password },
  });
  return { userId: session.user_id, token: session.access_token };
}

const registered = await registerThroughGateway('alice', 'alice-password');
const alice = await loginThroughGateway('alice', 'alice-password');

t.test('register and log in an unmanaged user through the gateway', async (t) => {
  t.equal(registered.userId, `@alice:${hs.serverName}`);
  t.equal(alice.userId, registered.userId);
  const me = await matrixCall<{ user_id: string }>(gw.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: alice.token });
  t.equal(me.user_id, alice.userId);
});

t.test('sync, send a message and read it back', async (t) => {
  const initial = await matrixCall<{ next_batch: string }>(gw.baseUrl, 'GET', '/_matrix/client/v3/sync', { token: alice.token, query: { timeout: 0 } });
  t.type(initial.next_batch, 'string');
  const roomId = await createRoom(gw.baseUrl, alice.token);
  const eventId = await sendMessage(gw.baseUrl, alice.token, roomId, 'hello through corporal');
  const messages = await matrixCall<{ chunk: Array<{ event_id: string; content: { body?: string } }> }>(
    gw.baseUrl, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages`, { token: alice.token, query: { dir: 'b', limit: 5 } },
  );
  const found = messages.chunk.find((event) => event.event_id === eventId);
  t.equal(found?.content.body, 'hello through corporal');
});

t.test('a long-poll /sync returns when a message arrives', async (t) => {
  type SyncAnswer = { next_batch: string; rooms?: { join?: Record<string, { timeline: { events: Array<{ content: { body?: string } }> } }> } };
  const roomId = await createRoom(gw.baseUrl, alice.token);
  let { next_batch: since } = await matrixCall<SyncAnswer>(gw.baseUrl, 'GET', '/_matrix/client/v3/sync', { token: alice.token, query: { timeout: 0 } });
  // The poll parks at Synapse for up to 25 s; the message, sent a second later, wakes it up. A
  // poll may also return earlier for unrelated updates: then the next one is parked.
  let sentAt = Number.POSITIVE_INFINITY;
  const sending = new Promise((resolve) => setTimeout(resolve, 1000)).then(async () => {
    sentAt = Date.now();
    await sendMessage(hs.baseUrl, alice.token, roomId, 'wake up');
  });
  const deadline = Date.now() + 30_000;
  let receivedAt = 0;
  while (receivedAt === 0 && Date.now() < deadline) {
    const answer = await matrixCall<SyncAnswer>(gw.baseUrl, 'GET', '/_matrix/client/v3/sync', {
      token: alice.token, query: { since, timeout: 25_000 }, timeoutMs: 40_000,
    });
    since = answer.next_batch;
    const bodies = answer.rooms?.join?.[roomId]?.timeline.events.map((event) => event.content.body) ?? [];
    if (bodies.includes('wake up')) receivedAt = Date.now();
  }
  await sending;
  t.ok(receivedAt > 0, 'the message arrived through a long-poll');
  t.ok(receivedAt - sentAt < 10_000, `the poll returned on the message, not at its timeout (${receivedAt - sentAt} ms after sending)`);
});

t.test('20 MiB of media up and down, byte-exact (authenticated media)', async (t) => {
  const payload = randomBytes(MEDIA_BYTES);
  const expected = createHash('sha256').update(payload).digest('hex');
  const uploaded = await matrixCall<{ content_uri: string }>(gw.baseUrl, 'POST', '/_matrix/media/v3/upload', {
    token: alice.token, rawBody: payload, headers: { 'content-type': 'application/octet-stream' }, query: { filename: 'blob.bin' }, timeoutMs: 60_000,
  });
  const match = /^mxc:\/\/([^/]+)\/(.+)$/.exec(uploaded.content_uri);
  t.ok(match, `content uri ${uploaded.content_uri}`);
  const response = await request(`${gw.baseUrl}/_matrix/client/v1/media/download/${match![1]}/${match![2]}`, {
    headers: { authorization: `Bearer ${alice.token}` },
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  t.equal(response.statusCode, 200);
  t.equal(response.headers['content-length'], String(MEDIA_BYTES), 'known length is forwarded as Content-Length');
  const hash = createHash('sha256');
  let received = 0;
  for await (const chunk of response.body) {
    hash.update(chunk as Buffer);
    received += (chunk as Buffer).length;
  }
  t.equal(received, MEDIA_BYTES);
  t.equal(hash.digest('hex'), expected, 'downloaded bytes equal the uploaded ones');
});

t.test('HEAD, unknown token and headers pass through as Synapse answers them', async (t) => {
  const versions = await request(`${gw.baseUrl}/_matrix/client/versions`, { method: 'HEAD' });
  await versions.body.dump();
  t.equal(versions.statusCode, 200);
  const bogus = await matrixRequest(gw.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: 'not-a-token' });
  t.equal(bogus.status, 401, 'an unknown token is still proxied and Synapse rejects it');
  t.equal((bogus.json as { errcode?: string }).errcode, 'M_UNKNOWN_TOKEN');
  const mixed = await matrixRequest(gw.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: alice.token, query: { access_token: alice.token } });
  t.equal(mixed.status, 401);
  t.equal((mixed.json as { error?: string }).error, 'Mixing Authorization headers and access_token query parameters.');
  const viaQuery = await matrixCall<{ user_id: string }>(gw.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { query: { access_token: alice.token } });
  t.equal(viaQuery.user_id, alice.userId, 'the access_token query parameter works');
});

t.test('Synapse refuses every request target the gateway refuses for its length, so the limit takes nothing away', async (t) => {
  const path = '/_matrix/client/v3/account/whoami?pad=';
  const target = path + 'p'.repeat(MAX_REQUEST_TARGET_LENGTH + 1 - path.length);
  const direct = await openSocket(Number(new URL(hs.baseUrl).port));
  direct.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\n\r\n`);
  const answer = (await readAtLeast(direct, 1)).toString('latin1');
  direct.destroy();
  // Twisted answers 400 when the request line and headers exceed 16,384 bytes, or closes the
  // connection without an answer when the request line alone does.
  t.ok(answer === '' || answer.startsWith('HTTP/1.1 400 '), `Synapse: ${JSON.stringify(answer.slice(0, 40))}`);
  const viaGateway = await matrixRequest(gw.baseUrl, 'GET', target.slice(0, target.indexOf('?')), { token: alice.token, query: { pad: target.slice(path.length) } });
  t.equal(viaGateway.status, 414);
  t.equal((viaGateway.json as { errcode?: string }).errcode, 'M_TOO_LARGE');
});

t.test('a request head longer than Synapse takes is refused 431 by the gateway, not reported as an unreachable homeserver', async (t) => {
  const synapsePort = Number(new URL(hs.baseUrl).port);
  const path = '/_matrix/client/v3/account/whoami';
  const raw = async (port: number, headers: readonly string[]): Promise<string> => {
    const socket = await openSocket(port);
    let head = `GET ${path} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    socket.write(`${head}\r\n`);
    const answer = (await readAtLeast(socket, 1)).toString('latin1');
    socket.destroy();
    return answer;
  };
  const padded = (padding: number): string[] => ['host', 'x', 'authorization', `Bearer ${alice.token}`, 'x-pad', 'p'.repeat(padding)];
  // Ground truth: the counting rule matches Twisted's, on heads sent to Synapse as undici writes
  // them (its `connection: keep-alive` included).
  let padding = UPSTREAM_HEAD_LIMIT_BYTES;
  while (exceedsUpstreamHeadLimit('GET', path, padded(padding), new URL(hs.baseUrl).host, false)) padding--;
  t.match(await raw(synapsePort, [...padded(padding), 'connection', 'keep-alive']), /^HTTP\/1.1 200 /, 'Synapse takes a head at the limit');
  t.match(await raw(synapsePort, [...padded(padding + 1), 'connection', 'keep-alive']), /^HTTP\/1.1 400 /, 'and answers a bare 400 one byte past it');
  const oneLongLine = ['host', 'x', 'x-big', 'b'.repeat(UPSTREAM_HEAD_LIMIT_BYTES + 1)];
  t.equal(await raw(synapsePort, oneLongLine), '', 'one line over its line limit: no answer at all');
  // Through the gateway (proxied, these were a bare 400 and a 502 "could not be reached" with a warning).
  const expected = { errcode: 'M_TOO_LARGE', error: `Request line and headers longer than the homeserver accepts (${UPSTREAM_HEAD_LIMIT_BYTES} bytes)` };
  for (const headers of [padded(UPSTREAM_HEAD_LIMIT_BYTES), oneLongLine]) {
    const answer = await raw(gw.port, [...headers, 'connection', 'close']);
    t.match(answer, /^HTTP\/1.1 431 /);
    t.same(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), expected);
  }
});

t.test('the longest head the gateway sends, whatever lines undici adds to it, is one Synapse takes', async (t) => {
  const path = '/_matrix/client/v3/logout';
  const status = async (request: (padding: string) => string): Promise<(padding: number) => Promise<string>> => async (padding) => {
    const socket = await openSocket(gw.port);
    socket.write(request('p'.repeat(padding)));
    const answer = (await readAtLeast(socket, 12)).toString('latin1');
    socket.destroy();
    return answer;
  };
  const shapes = {
    // undici adds `content-length: 0` to a POST without a body.
    'a POST without a body': await status((pad) => `POST ${path} HTTP/1.1\r\nhost: x\r\nx-pad: ${pad}\r\nconnection: close\r\n\r\n`),
    'a POST with a body': await status((pad) => `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\nx-pad: ${pad}\r\nconnection: close\r\n\r\n{}`),
  };
  for (const [shape, answerTo] of Object.entries(shapes)) {
    // The longest padding the gateway does not refuse 431: it sends that head, and Synapse must take it.
    let sent = 0;
    let refused = UPSTREAM_HEAD_LIMIT_BYTES;
    while (refused - sent > 1) {
      const mid = (sent + refused) >> 1;
      if ((await answerTo(mid)).startsWith('HTTP/1.1 431 ')) refused = mid;
      else sent = mid;
    }
    const answer = await answerTo(sent);
    t.match(answer, /^HTTP\/1.1 401 /, `${shape}: Synapse's own answer (no token), not its bare 400`);
  }
});

t.test('a token too long for Synapse to take is refused 431 where the gateway looks it up, not reported as a failed check', async (t) => {
  const token = 'x'.repeat(UPSTREAM_HEAD_LIMIT_BYTES);
  // createRoom is policy-checked: it needs the token's user (before, a 502 "could not be checked").
  for (const [method, path] of [['POST', '/_matrix/client/v3/createRoom'], ['GET', '/_matrix/client/v3/account/whoami']] as const) {
    const answer = await matrixRequest(gw.baseUrl, method, path, { token, ...(method === 'POST' ? { body: {} } : {}) });
    t.equal(answer.status, 431, `${method} ${path}`);
    t.match(answer.json, { errcode: 'M_TOO_LARGE' });
  }
});

t.test('with Synapse stopped, the gateway answers 502 with a Matrix error and CORS headers', async (t) => {
  await hs.stop();
  const response = await matrixRequest(gw.baseUrl, 'GET', '/_matrix/client/versions');
  t.equal(response.status, 502);
  t.same(response.json, { errcode: 'M_UNKNOWN', error: 'The homeserver could not be reached' });
  t.equal(response.headers['access-control-allow-origin'], '*');
  t.equal(response.headers['content-type'], 'application/json');
  const info = await matrixRequest(gw.baseUrl, 'GET', '/_matrix/client/corporal');
  t.equal(info.status, 200, 'the gateway itself still answers');
});
