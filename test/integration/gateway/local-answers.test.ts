import t from 'tap';
import { request } from 'undici';
import { MAX_REQUEST_TARGET_LENGTH } from '../../../src/gateway/router/index.js';
import { startGateway } from './fixtures/gateway-harness.js';
import { startHttpUpstream } from './fixtures/http-upstream.js';
import { openSocket, readAtLeast } from './fixtures/raw-client.js';

/**
 * What the gateway answers itself, before it has a policy: matrix-corporal's fail-closed 503,
 * and the answers that need no policy (OPTIONS, the info route, redirects, the version guard).
 */

let proxied = 0;
const upstream = await startHttpUpstream((req, res) => {
  proxied++;
  req.resume();
  res.end('{}');
});
t.teardown(() => upstream.close());
const gw = await startGateway({ upstream: upstream.url, threads: 2, withPolicy: false });
t.teardown(() => gw.stop());

async function call(method: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const response = await request(`${gw.baseUrl}${path}`, { method });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

t.test('without a policy, proxied routes are refused with 503', async (t) => {
  const answer = await call('GET', '/_matrix/client/v3/sync');
  t.equal(answer.status, 503);
  t.same(JSON.parse(answer.body), { errcode: 'M_UNKNOWN', error: 'Policy does not exist (yet), cannot proceed' });
  t.equal(answer.headers['access-control-allow-origin'], '*');
  const upload = await request(`${gw.baseUrl}/_matrix/media/v3/upload`, { method: 'POST', body: Buffer.alloc(100_000) });
  await upload.body.dump();
  t.equal(upload.statusCode, 503, 'also with a body the gateway did not read');
  t.equal(proxied, 0, 'nothing reached the homeserver');
});

t.test('answers that need no policy', async (t) => {
  const options = await call('OPTIONS', '/_matrix/client/v3/rooms/!r:hs/send/m.room.message/1');
  t.equal(options.status, 200);
  t.equal(options.headers['access-control-allow-methods'], 'GET, HEAD, POST, PUT, DELETE, OPTIONS');
  t.equal(options.body, '');
  const info = await call('GET', '/_matrix/client/corporal');
  t.same([info.status, info.body], [200, 'Matrix Client-Server API protected by Matrix Corporal']);
  const version = await call('GET', '/_matrix/client/v4/sync');
  t.same([version.status, JSON.parse(version.body)], [403, { errcode: 'M_FORBIDDEN', error: 'API version not supported by gateway' }]);
  const redirect = await call('GET', '/_matrix/client/v3//sync?since=1');
  t.equal(redirect.status, 301);
  t.equal(redirect.headers['location'], '/_matrix/client/v3/sync?since=1');
  t.equal(proxied, 0);
});

t.test('a HEAD request to the info route gets the head only, and the connection stays usable', async (t) => {
  const socket = await openSocket(gw.port);
  socket.write('HEAD /_matrix/client/corporal HTTP/1.1\r\nHost: x\r\n\r\n');
  const head = (await readAtLeast(socket, 1)).toString('latin1');
  t.match(head, /^HTTP\/1.1 200 /);
  t.match(head, /Content-Length: 53\r\n/i);
  t.ok(head.endsWith('\r\n\r\n'), 'no body');
  socket.write('GET /_matrix/client/corporal HTTP/1.1\r\nHost: x\r\n\r\n');
  const next = (await readAtLeast(socket, 1)).toString('latin1');
  t.ok(next.endsWith('Matrix Client-Server API protected by Matrix Corporal'));
  socket.destroy();
});

t.test('a request target longer than Synapse accepts is refused with 414 before anything else', async (t) => {
  const before = proxied;
  const longPath = `/_matrix/client/v3/rooms/!r:hs/state/x/${'a'.repeat(MAX_REQUEST_TARGET_LENGTH)}`;
  const tooLong = await call('PUT', longPath);
  t.equal(tooLong.status, 414);
  t.same(JSON.parse(tooLong.body), { errcode: 'M_TOO_LARGE', error: `Request target (path and query) longer than ${MAX_REQUEST_TARGET_LENGTH} characters` });
  t.equal(tooLong.headers['access-control-allow-origin'], '*');
  const query = `/_matrix/client/v3/sync?filter=${'b'.repeat(MAX_REQUEST_TARGET_LENGTH)}`;
  t.equal((await call('GET', query)).status, 414, 'the query counts');
  const atLimit = `/_matrix/client/v3/sync?filter=${'b'.repeat(MAX_REQUEST_TARGET_LENGTH - '/_matrix/client/v3/sync?filter='.length)}`;
  t.equal((await call('GET', atLimit)).status, 503, 'a target of exactly the limit goes on (to the policy requirement here)');
  t.equal(proxied, before);
});

t.test('CONNECT is refused with 405 M_UNRECOGNIZED at once, never proxied', async (t) => {
  // Proxied, undici took Synapse's answer for a tunnel and the request hung until the exchange cap,
  // then got a 504 blaming the homeserver, with a warning (audit 14, F2). Raw, since undici would
  // read this client's CONNECT as a tunnel too.
  const before = proxied;
  const socket = await openSocket(gw.port);
  socket.write('CONNECT /_matrix/client/v3/account/whoami HTTP/1.1\r\nHost: x\r\n\r\n');
  const answer = (await readAtLeast(socket, 1)).toString('latin1');
  socket.destroy();
  t.match(answer, /^HTTP\/1.1 405 /);
  t.match(answer, /access-control-allow-origin: \*\r\n/i);
  t.same(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  t.equal(proxied, before);
});
