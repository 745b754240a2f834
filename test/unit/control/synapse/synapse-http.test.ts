import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { listUsersPage } from '../../../../src/control/synapse/admin-users-api.js';
import { SynapseErrorCode } from '../../../../src/control/synapse/synapse-errors.js';
import { SynapseHttp, type SynapseHttpOptions, type TokenSource } from '../../../../src/control/synapse/synapse-http.js';
import { findFreePort } from '../../../support/free-port.js';
import { hang, json, startScriptedServer } from '../fixtures/scripted-server.js';

const server = await startScriptedServer(json(200, { ok: true }));
t.teardown(() => server.close());

/** A client whose rate-limit waits are recorded (and not slept). */
function client(overrides: Partial<SynapseHttpOptions> = {}): { http: SynapseHttp; waits: number[] } {
  const waits: number[] = [];
  const http = new SynapseHttp({
    baseUrl: server.url,
    timeoutMs: 5_000,
    connections: 2,
    logger: createSilentLogger(),
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...overrides,
  });
  t.teardown(() => http.close());
  return { http, waits };
}

function reset(): void {
  server.requests.length = 0;
  server.queue.length = 0;
}

const limited = (body: Record<string, unknown>, headers: Record<string, string> = {}) => json(429, { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', ...body }, headers);

t.test('a 2xx answer: parsed JSON, bearer token, query, base path, request count', async (t) => {
  reset();
  const { http } = client({ baseUrl: `${server.url}/prefix/` });
  server.queue.push(json(200, { hello: 'world' }));
  const answer = await http.request({ call: 'test.call', method: 'POST', path: '/x/%40a', query: { a: 1, b: undefined, c: false }, auth: 'tok', json: { k: 'v' } });
  t.same(answer, { hello: 'world' });
  t.same(server.requests, [{ method: 'POST', url: '/prefix/x/%40a?a=1&c=false', authorization: 'Bearer tok', body: '{"k":"v"}' }]);
  t.equal(http.requestCount, 1);
});

t.test('many calls in flight at once raise no MaxListenersExceededWarning (one closing listener each)', async (t) => {
  reset();
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning.name);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const { http } = client({ connections: 4 });
  await Promise.all(Array.from({ length: 40 }, () => http.request({ call: 'test.many', method: 'GET', path: '/many', auth: 'tok' })));
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(http.requestCount, 40);
  t.same(warnings.filter((name) => name === 'MaxListenersExceededWarning'), []);
});

t.test('M_LIMIT_EXCEEDED waits retry_after_ms, else Retry-After, else the default', async (t) => {
  reset();
  const { http, waits } = client();
  server.queue.push(limited({ retry_after_ms: 1234 }, { 'retry-after': '7' }), limited({}, { 'retry-after': '2' }), limited({}), json(200, { done: true }));
  t.same(await http.request({ call: 'test.call', method: 'PUT', path: '/p', json: {} }), { done: true });
  t.same(waits, [1234, 2000, 1000]);
  t.equal(server.requests.length, 4);
  t.equal(http.requestCount, 4, 'every attempt counts');
});

t.test('rate-limit retries stop after maxAttempts, and keep the errcode', async (t) => {
  reset();
  const { http, waits } = client({ rateLimit: { maxAttempts: 3, maxTotalWaitMs: 60_000, defaultWaitMs: 10 } });
  server.queue.push(limited({ retry_after_ms: 5 }), limited({ retry_after_ms: 5 }), limited({ retry_after_ms: 5 }), json(200, {}));
  await t.rejects(http.request({ call: 'test.call', method: 'GET', path: '/p' }), { code: SynapseErrorCode.Status, status: 429, errcode: 'M_LIMIT_EXCEEDED', retryable: true, source: 'upstream' });
  t.same(waits, [5, 5]);
  t.equal(server.requests.length, 3);
});

t.test('rate-limit retries stop when the next wait would exceed the total budget', async (t) => {
  reset();
  const { http, waits } = client({ rateLimit: { maxAttempts: 10, maxTotalWaitMs: 1_000, defaultWaitMs: 10 } });
  server.queue.push(limited({ retry_after_ms: 600 }), limited({ retry_after_ms: 600 }));
  await t.rejects(http.request({ call: 'test.call', method: 'GET', path: '/p' }), { code: SynapseErrorCode.Status, errcode: 'M_LIMIT_EXCEEDED' });
  t.same(waits, [600], 'the second wait (1200 ms in all) was not taken');
});

t.test('retryRateLimited: false gives up at once; a 429 without errcode still reads as M_LIMIT_EXCEEDED', async (t) => {
  reset();
  const { http, waits } = client();
  server.queue.push((_req, res) => res.writeHead(429).end());
  await t.rejects(http.request({ call: 'test.call', method: 'GET', path: '/p', retryRateLimited: false }), { code: SynapseErrorCode.Status, status: 429, errcode: 'M_LIMIT_EXCEEDED' });
  t.same(waits, []);
});

t.test('an error answer keeps status, errcode and message; other errors are not retried', async (t) => {
  reset();
  const { http } = client();
  server.queue.push(json(404, { errcode: 'M_NOT_FOUND', error: 'User not found' }));
  await t.rejects(http.request({ call: 'admin.users.get', method: 'GET', path: '/p' }), {
    code: SynapseErrorCode.Status,
    status: 404,
    errcode: 'M_NOT_FOUND',
    retryable: false,
    message: 'admin.users.get: Synapse answered HTTP 404 M_NOT_FOUND: User not found',
  });
  server.queue.push((_req, res) => res.writeHead(502).end('<html>bad gateway</html>'));
  await t.rejects(http.request({ call: 'test.call', method: 'GET', path: '/p' }), { code: SynapseErrorCode.Status, status: 502, errcode: 'M_UNKNOWN', retryable: true });
  t.equal(server.requests.length, 2);
});

t.test('a 2xx body that is not JSON is a bad response; an empty one is undefined', async (t) => {
  reset();
  const { http } = client();
  server.queue.push((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('nope'), (_req, res) => res.writeHead(200).end());
  await t.rejects(http.request({ call: 'test.call', method: 'GET', path: '/p' }), { code: SynapseErrorCode.BadResponse });
  t.equal(await http.request({ call: 'test.call', method: 'GET', path: '/p' }), undefined);
});

t.test('answer bodies are bounded, whether the length is declared or streamed', async (t) => {
  reset();
  const { http } = client({ maxBodyBytes: 1024 });
  server.queue.push(json(200, { big: 'x'.repeat(2000) }));
  server.queue.push((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"big":"');
    res.write('y'.repeat(2000));
    res.end('"}');
  });
  await t.rejects(http.request({ call: 'test.call', method: 'GET', path: '/p' }), { code: SynapseErrorCode.BodyTooLarge });
  await t.rejects(http.request({ call: 'test.call', method: 'GET', path: '/p' }), { code: SynapseErrorCode.BodyTooLarge });
  t.same(await http.request({ call: 'test.call', method: 'GET', path: '/p', maxBodyBytes: 4096 }), { ok: true }, 'a per-call bound overrides the default');
});

t.test('no answer within the deadline is a timeout', async (t) => {
  reset();
  const { http } = client({ timeoutMs: 150 });
  server.queue.push(hang);
  await t.rejects(http.request({ call: 'test.call', method: 'GET', path: '/p' }), { code: SynapseErrorCode.Timeout, retryable: true, status: 504 });
});

t.test('a refused connection is reported as unreachable', async (t) => {
  const port = await findFreePort();
  const { http } = client({ baseUrl: `http://127.0.0.1:${port}` });
  await t.rejects(http.request({ call: 'test.call', method: 'GET', path: '/p' }), { code: SynapseErrorCode.Unreachable, retryable: true, message: /ECONNREFUSED/ });
});

t.test('M_UNKNOWN_TOKEN: a renewable token is renewed once, a fixed one is not', async (t) => {
  reset();
  const { http } = client();
  const renewed: string[] = [];
  const source: TokenSource = {
    token: async () => 'old',
    renew: async (stale) => {
      renewed.push(stale);
      return 'new';
    },
  };
  const unknown = json(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.' });
  server.queue.push(unknown, json(200, { ok: 1 }));
  t.same(await http.request({ call: 'test.call', method: 'GET', path: '/p', auth: source }), { ok: 1 });
  t.same(renewed, ['old']);
  t.same(server.requests.map((r) => r.authorization), ['Bearer old', 'Bearer new']);

  server.queue.push(unknown, unknown);
  await t.rejects(http.request({ call: 'test.call', method: 'GET', path: '/p', auth: source }), { code: SynapseErrorCode.Status, errcode: 'M_UNKNOWN_TOKEN' }, 'renewed at most once');
  server.queue.push(unknown);
  await t.rejects(http.request({ call: 'test.call', method: 'GET', path: '/p', auth: 'fixed' }), { code: SynapseErrorCode.Status, errcode: 'M_UNKNOWN_TOKEN' });
});

t.test('close() ends a rate-limit wait in progress', async (t) => {
  reset();
  const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 5_000, connections: 1, logger: createSilentLogger() });
  server.queue.push(limited({ retry_after_ms: 60_000 }));
  const outcome = http.request({ call: 'test.call', method: 'GET', path: '/p' }).then(
    () => null,
    (err: unknown) => err,
  );
  while (server.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 20));
  await http.close();
  t.match(await outcome, { code: SynapseErrorCode.Aborted });
  await t.rejects(http.request({ call: 'test.call', method: 'GET', path: '/p' }), { code: SynapseErrorCode.Aborted }, 'and refuses new calls');
});

t.test('tokens and passwords never reach the log, even at trace level', async (t) => {
  reset();
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
  const { http } = client({ logger });
  server.queue.push(limited({ retry_after_ms: 1 }), json(200, {}), json(403, { errcode: 'M_FORBIDDEN', error: 'no' }));
  await http.request({ call: 'client.login', method: 'POST', path: '/login', auth: 'secret-token-value', json: { password: 'secret-password-value' } });
  await t.rejects(http.request({ call: 'client.login', method: 'POST', path: '/login', auth: 'secret-token-value', json: { password: 'secret-password-value' } }));
  t.ok(lines.length >= 3, 'calls were logged');
  t.notMatch(lines.join(''), /secret-token-value|secret-password-value/);
});

t.test('the user list accepts admin/is_guest/locked/deactivated as booleans or integers', async (t) => {
  reset();
  const { http } = client();
  server.queue.push(
    json(200, {
      users: [
        { name: '@old:hs', admin: 1, is_guest: 0, deactivated: 1, locked: 0, displayname: null, avatar_url: null },
        { name: '@new:hs', admin: false, is_guest: false, deactivated: false, locked: true, displayname: 'New', avatar_url: 'mxc://hs/a' },
      ],
      next_token: 100,
      total: 300,
    }),
  );
  const page = await listUsersPage(http, 'tok', '0', 100);
  t.same(page, {
    users: [
      { userId: '@old:hs', displayName: '', avatarUrl: '', locked: false, deactivated: true, admin: true, isGuest: false },
      { userId: '@new:hs', displayName: 'New', avatarUrl: 'mxc://hs/a', locked: true, deactivated: false, admin: false, isGuest: false },
    ],
    nextToken: '100',
  });
  t.equal(server.requests[0]?.url, '/_synapse/admin/v2/users?from=0&limit=100&guests=false&deactivated=true&locked=true', 'locked and deactivated users are asked for');
  server.queue.push(json(200, { users: [{ admin: true }] }));
  await t.rejects(listUsersPage(http, 'tok', undefined, 100), { code: SynapseErrorCode.BadResponse, message: /"name"/ });
});

t.test('a 500 over a Unix socket names the likeliest cause (no x_forwarded on the listener); over TCP it does not', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-500-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socketPath = join(dir, 'hs.sock');
  const socketServer = createServer((_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end('{"errcode":"M_UNKNOWN","error":"Internal server error"}');
  });
  await new Promise<void>((resolve) => socketServer.listen(socketPath, resolve));
  t.teardown(() => new Promise((resolve) => socketServer.close(resolve)));
  const { http } = client({ baseUrl: 'http://localhost', socketPath });
  await t.rejects(http.request({ call: 'client.login', method: 'POST', path: '/_matrix/client/v3/login', json: {} }), {
    code: SynapseErrorCode.Status,
    status: 500,
    message: 'client.login: Synapse answered HTTP 500 M_UNKNOWN: Internal server error (if Synapse\'s Unix-socket listener lacks `x_forwarded: true`, it answers 500; see docs/deployment.md)',
  });
  reset();
  server.queue.push(json(500, { errcode: 'M_UNKNOWN', error: 'Internal server error' }));
  await t.rejects(client().http.request({ call: 'client.login', method: 'POST', path: '/p', json: {} }), {
    message: 'client.login: Synapse answered HTTP 500 M_UNKNOWN: Internal server error',
  });
});
