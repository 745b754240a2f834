import t from 'tap';
import { gzipSync } from 'node:zlib';
import { AVATAR_MAX_REDIRECTS, AVATAR_SOURCE_ERROR, createAvatarDispatcher, readAvatarSource } from '../../../../src/control/apply/avatar-source.js';
import { findFreePort } from '../../../support/free-port.js';
import { hang, startScriptedServer, type Script } from '../fixtures/scripted-server.js';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');
const dispatcher = createAvatarDispatcher(5_000);
t.teardown(() => dispatcher.close());
const server = await startScriptedServer();
t.teardown(() => server.close());

const limits = { maxBytes: 1024, timeoutMs: 5_000, dispatcher };
const image = (body: Buffer, type = 'image/png'): Script => (_req, res) => res.writeHead(200, { 'content-type': type }).end(body);
const redirect = (to: string): Script => (_req, res) => res.writeHead(302, { location: to }).end();

t.test('data: URIs', async (t) => {
  const base64 = await readAvatarSource(`data:image/png;base64,${PNG.toString('base64')}`, limits);
  t.same(base64, { contentType: 'image/png', data: PNG });
  const plain = await readAvatarSource('data:image/svg+xml;charset=utf-8,%3Csvg%2F%3E', limits);
  t.same(plain, { contentType: 'image/svg+xml', data: Buffer.from('<svg/>') }, 'percent-encoded payloads (RFC 2397)');
  const refusals: [string, RegExp][] = [
    ['data:image/png;base64', /no ","/],
    ['data:image/png;base64,@@@@', /malformed base64/],
    ['data:image/png;base64,QUJD=A==', /malformed base64/],
    ['data:text/plain;base64,QUJD', /text\/plain, not an image/],
    ['data:;base64,QUJD', /untyped, not an image/],
    ['data:image/png;base64,', /is empty/],
    [`data:image/png;base64,${Buffer.alloc(2048).toString('base64')}`, /exceeds 1024 bytes/],
    ['data:image/png,%E0%A4%A', /malformed percent-encoding/],
  ];
  for (const [uri, message] of refusals) await t.rejects(readAvatarSource(uri, limits), { code: AVATAR_SOURCE_ERROR, message }, uri.slice(0, 40));
});

t.test('http(s) downloads: status, type and size are checked; errors name the origin only', async (t) => {
  server.queue.push(image(PNG, 'image/png; charset=binary'));
  t.same(await readAvatarSource(`${server.url}/a.png`, limits), { contentType: 'image/png', data: PNG });
  t.equal(server.requests.at(-1)?.method, 'GET');

  server.queue.push((_req, res) => res.writeHead(404).end());
  await t.rejects(readAvatarSource(`${server.url}/secret-path?token=hunter2`, limits), { code: AVATAR_SOURCE_ERROR, message: `avatar download from ${server.url} answered HTTP 404` });
  server.queue.push(image(Buffer.from('<html>'), 'text/html'));
  await t.rejects(readAvatarSource(`${server.url}/a`, limits), { message: /is text\/html, not an image/ });
  server.queue.push(image(Buffer.alloc(4096)));
  await t.rejects(readAvatarSource(`${server.url}/big`, limits), { message: /exceeds 1024 bytes/ }, 'declared length');
  server.queue.push((_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    res.write(Buffer.alloc(800));
    res.end(Buffer.alloc(800));
  });
  await t.rejects(readAvatarSource(`${server.url}/chunked`, limits), { message: /exceeds 1024 bytes/ }, 'streamed length');
});

t.test('gzip: asked for, as matrix-corporal\'s Go client did; a gzip-encoded image is decoded, bounded decoded', async (t) => {
  server.queue.push((_req, res) => res.writeHead(200, { 'content-type': 'image/png', 'content-encoding': 'gzip' }).end(gzipSync(PNG)));
  t.same(await readAvatarSource(`${server.url}/zipped.png`, limits), { contentType: 'image/png', data: PNG });
  t.equal(server.headers.at(-1)?.['accept-encoding'], 'gzip');
  t.equal(server.headers.at(-1)?.['user-agent'], 'Corporal');
  server.queue.push((_req, res) => res.writeHead(200, { 'content-type': 'image/png', 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(64 * 1024))));
  await t.rejects(readAvatarSource(`${server.url}/bomb.png`, limits), { message: /exceeds 1024 bytes/ }, 'the decoded size counts');
  server.queue.push((_req, res) => res.writeHead(200, { 'content-type': 'image/png', 'content-encoding': 'gzip' }).end(PNG));
  await t.rejects(readAvatarSource(`${server.url}/corrupt.png`, limits), { code: AVATAR_SOURCE_ERROR, message: /could not be decoded/ });
});

t.test('docs audit 18, #8: user info in an avatar URL is sent as Basic auth, as Go\'s http.Get did; a malformed one is refused unquoted', async (t) => {
  server.queue.push(image(PNG));
  const withUser = server.url.replace('http://', 'http://av%40user:p%3Ass@');
  t.same((await readAvatarSource(`${withUser}/private.png`, limits)).data, PNG);
  t.equal(server.headers.at(-1)?.['authorization'], `Basic ${Buffer.from('av@user:p:ss').toString('base64')}`);
  const before = server.requests.length;
  const bad = server.url.replace('http://', 'http://us%ZZer:secret-pw@');
  await t.rejects(readAvatarSource(`${bad}/a.png`, limits), { code: AVATAR_SOURCE_ERROR, message: `the avatar URL of ${server.url} has user info with an invalid %-escape` });
  t.equal(server.requests.length, before, 'nothing sent');
});

t.test('redirects are followed up to the limit', async (t) => {
  for (let i = 0; i < AVATAR_MAX_REDIRECTS; i++) server.queue.push(redirect(`${server.url}/hop${i + 1}`));
  server.queue.push(image(PNG));
  t.same((await readAvatarSource(`${server.url}/hop0`, limits)).data, PNG, `${AVATAR_MAX_REDIRECTS} redirects are fine`);
  for (let i = 0; i <= AVATAR_MAX_REDIRECTS; i++) server.queue.push(redirect(`${server.url}/loop${i + 1}`));
  server.queue.push(image(PNG));
  await t.rejects(readAvatarSource(`${server.url}/loop0`, limits), { message: /HTTP 302 \(too many redirects\)/ });
  server.queue.length = 0;
});

t.test('deadline, refused connection, unsupported schemes', async (t) => {
  server.queue.push(hang);
  await t.rejects(readAvatarSource(`${server.url}/slow`, { ...limits, timeoutMs: 150 }), { code: AVATAR_SOURCE_ERROR, message: /took longer than 150 ms/, retryable: true });
  const port = await findFreePort();
  await t.rejects(readAvatarSource(`http://127.0.0.1:${port}/a.png`, limits), { message: /failed: ECONNREFUSED/, retryable: true });
  await t.rejects(readAvatarSource('file:///etc/passwd', limits), { message: /must be data:, http: or https:, not file:/ });
  await t.rejects(readAvatarSource('not a uri', limits), { message: /neither a data: URI nor a URL/ });
});
