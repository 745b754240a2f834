import t from 'tap';
import { Agent } from 'undici';
import { verifyRest, MAX_REST_RESPONSE_BYTES } from '../../../src/offload/verify-rest.js';
import { ACCOUNTS, refusedUrl, startRestAuthService } from './fixtures/rest-auth-service.js';

const dispatcher = new Agent({ connect: { timeout: 2000 }, headersTimeout: 5000, bodyTimeout: 5000, keepAliveTimeout: 1000 });
t.teardown(() => dispatcher.close());

const service = await startRestAuthService();
t.teardown(() => service.close());

const ALICE = '@alice:example.com';
const BOB = '@bob:example.com';

function ask(path: string, userId: string, password: string, timeoutMs = 5000) {
  return verifyRest({ url: service.origin + path, userId, password, timeoutMs }, dispatcher);
}

t.test('the protocol: request shape and success with a display name', async (t) => {
  service.requests.length = 0;
  const result = await ask('/users', ALICE, ACCOUNTS[ALICE]!);
  t.same(result, { ok: true, value: { authenticated: true, displayName: 'Alice A.' } });
  t.equal(service.requests.length, 1);
  const [request] = service.requests;
  t.equal(request?.method, 'POST');
  t.equal(request?.path, '/users');
  t.equal(request?.contentType, 'application/json');
  t.equal(request?.authorization, undefined, 'no Authorization header without user info in the URL');
  t.same(JSON.parse(request?.body ?? ''), { user: { id: ALICE, password: ACCOUNTS[ALICE] } });
});

t.test('success without a profile; unicode password travels intact', async (t) => {
  t.same(await ask('/users', BOB, ACCOUNTS[BOB]!), { ok: true, value: { authenticated: true } });
});

t.test('the service says no', async (t) => {
  t.same(await ask('/users', ALICE, 'wrong'), { ok: true, value: { authenticated: false } });
  t.same(await ask('/users', '@mallory:example.com', 'alice-secret'), { ok: true, value: { authenticated: false } });
});

t.test('user info in the URL becomes Basic authentication', async (t) => {
  service.requests.length = 0;
  const url = service.origin.replace('http://', 'http://svc%40user:p%3Ass@') + '/users?realm=x';
  t.same(await verifyRest({ url, userId: ALICE, password: ACCOUNTS[ALICE]!, timeoutMs: 5000 }, dispatcher), {
    ok: true,
    value: { authenticated: true, displayName: 'Alice A.' },
  });
  t.equal(service.requests[0]?.authorization, `Basic ${Buffer.from('svc@user:p:ss').toString('base64')}`);
  t.equal(service.requests[0]?.path, '/users?realm=x', 'path and query kept');
});

t.test('5xx means unavailable', async (t) => {
  for (const status of [500, 502, 503]) {
    t.match(await ask(`/status/${status}`, ALICE, 'pw'), { ok: false, code: 'auth-service-unavailable', message: new RegExp(`HTTP ${status}`) });
  }
});

t.test('other non-200 answers are bad responses', async (t) => {
  for (const status of [201, 204, 301, 302, 400, 401, 403, 404]) {
    t.match(await ask(`/status/${status}`, ALICE, 'pw'), { ok: false, code: 'auth-service-bad-response' }, `HTTP ${status}`);
  }
});

t.test('bodies that break the protocol are bad responses', async (t) => {
  t.match(await ask('/garbled', ALICE, 'pw'), { ok: false, code: 'auth-service-bad-response', message: /invalid JSON/ });
  t.match(await ask('/no-success', ALICE, 'pw'), { ok: false, code: 'auth-service-bad-response', message: /auth\.success/ });
  t.match(await ask('/string-success', ALICE, 'pw'), { ok: false, code: 'auth-service-bad-response', message: /auth\.success/ });
  t.match(await ask('/huge', ALICE, 'pw'), { ok: false, code: 'auth-service-bad-response', message: new RegExp(`${MAX_REST_RESPONSE_BYTES}`) });
});

t.test('a service slower than the timeout is unavailable', async (t) => {
  t.match(await ask('/hang', ALICE, 'pw', 300), { ok: false, code: 'auth-service-unavailable', message: /within 300 ms/ });
  t.match(await ask('/stall-body', ALICE, 'pw', 300), { ok: false, code: 'auth-service-unavailable', message: /within 300 ms/ });
});

t.test('connection refused is unavailable', async (t) => {
  const url = await refusedUrl();
  t.match(await verifyRest({ url, userId: ALICE, password: 'pw', timeoutMs: 5000 }, dispatcher), {
    ok: false,
    code: 'auth-service-unavailable',
    message: /ECONNREFUSED/,
  });
});

t.test('credentials that are not http(s) URLs', async (t) => {
  for (const url of ['', 'not a url', 'ftp://127.0.0.1/users', 'file:///etc/passwd', '/users']) {
    t.match(await verifyRest({ url, userId: ALICE, password: 'pw', timeoutMs: 1000 }, dispatcher), { ok: false, code: 'invalid-credential' }, JSON.stringify(url));
  }
});

t.test('quality 18 #1: user info with an invalid %-escape is an invalid credential, never a task crash, and is not quoted', async (t) => {
  service.requests.length = 0;
  const url = service.origin.replace('http://', 'http://us%ZZer:basic-secret@') + '/users';
  const result = await verifyRest({ url, userId: ALICE, password: 'pw', timeoutMs: 1000 }, dispatcher);
  t.match(result, { ok: false, code: 'invalid-credential', message: /invalid %-escape/ });
  t.notMatch(JSON.stringify(result), /basic-secret/);
  t.equal(service.requests.length, 0, 'nothing was sent');
});

t.test('messages name the origin only, never the path, query or password', async (t) => {
  const url = service.origin.replace('http://', 'http://user:basic-secret@') + '/status/500?token=query-secret';
  const result = await verifyRest({ url, userId: ALICE, password: 'password-secret', timeoutMs: 5000 }, dispatcher);
  t.equal(result.ok, false);
  if (!result.ok) {
    t.match(result.message, service.origin);
    t.notMatch(result.message, /secret|status|token/);
  }
});

t.test('gzip: asked for, as matrix-corporal\'s Go client did; a gzip answer is read, a corrupt one is a bad response', async (t) => {
  service.requests.length = 0;
  t.same(await ask('/gzip', ALICE, 'x'), { ok: true, value: { authenticated: true } });
  t.equal(service.requests[0]?.acceptEncoding, 'gzip');
  t.equal(service.requests[0]?.userAgent, 'Corporal');
  t.match(await ask('/corrupt-gzip', ALICE, 'x'), { ok: false, code: 'auth-service-bad-response', message: /could not be decoded/ });
});
