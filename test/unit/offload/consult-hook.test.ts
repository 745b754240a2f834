import t from 'tap';
import { Agent } from 'undici';
import { buildConsultPayload, canonicalHeaderKey, consultHook, type ConsultHookInput } from '../../../src/offload/consult-hook.js';
import { createOffloadPool } from '../../../src/offload/pool.js';
import { createSilentLogger } from '../../../src/common/logger.js';
import { findFreePort } from '../../support/free-port.js';
import { startHookRestService } from '../../support/hook-rest-service.js';

const dispatcher = new Agent({ connect: { timeout: 2000 }, keepAliveTimeout: 1000 });
t.teardown(() => dispatcher.close());
const service = await startHookRestService();
t.teardown(() => service.close());

/** A consultation of `path` on the test service, about a fixed request; `overrides` change any part. */
function input(path: string, overrides: Partial<Omit<ConsultHookInput, 'service'>> & { service?: Partial<ConsultHookInput['service']> } = {}): ConsultHookInput {
  const { service: serviceOverrides, ...rest } = overrides;
  return {
    hookId: 'parent',
    userId: '@alice:example.com',
    request: {
      uri: '/_matrix/client/v3/rooms/!a%3Aexample.com/invite?x=1',
      path: '/_matrix/client/v3/rooms/!a:example.com/invite',
      method: 'POST',
      headers: ['host', 'example.com', 'content-type', 'application/json', 'x-multi', 'a', 'x-multi', 'b', 'authorization', 'Bearer tok'],
      body: Buffer.from('{"user_id":"@bob:example.com"}'),
    },
    response: null,
    maxAnswerBytes: 64 * 1024,
    abandonAt: null,
    service: { url: service.origin + path, method: 'POST', headers: {}, timeoutMs: 5000, retryAttempts: 0, retryWaitMs: 0, ...serviceOverrides },
    ...rest,
  };
}

function requestsTo(prefix: string) {
  return service.requests.filter((request) => request.path.startsWith(prefix));
}

t.test('the payload, field by field, and the request that carries it', async (t) => {
  const result = await consultHook(input('/dump', { service: { headers: { authorization: 'Bearer SOME_TOKEN', 'x-extra': 'yes' } } }), { dispatcher });
  t.same(result, { ok: true, value: { hook: { id: 'parent-unnamed-response', eventType: null, matchRules: [], skipNextHooksInChain: false, action: 'pass.unmodified' }, attempts: 1, warnings: [] } });
  const received = requestsTo('/dump').at(-1)!;
  t.equal(received.method, 'POST', 'RESTServiceRequestMethod defaults to POST');
  t.equal(received.headers['content-type'], 'application/json');
  t.equal(received.headers['authorization'], 'Bearer SOME_TOKEN', 'RESTServiceRequestHeaders are sent');
  t.equal(received.headers['x-extra'], 'yes');
  t.ok(received.body.startsWith('{"meta":{"hookId":"parent","authenticatedMatrixUserId":"@alice:example.com"},"request":{"URI":'), 'fields in matrix-corporal\'s order');
  t.same(received.json, {
    meta: { hookId: 'parent', authenticatedMatrixUserId: '@alice:example.com' },
    request: {
      URI: '/_matrix/client/v3/rooms/!a%3Aexample.com/invite?x=1',
      path: '/_matrix/client/v3/rooms/!a:example.com/invite',
      method: 'POST',
      headers: { Authorization: 'Bearer tok', 'Content-Type': 'application/json', 'X-Multi': 'a, b' },
      payload: '{"user_id":"@bob:example.com"}',
    },
    response: null,
  });
  t.same(Object.keys((received.json as { request: { headers: object } }).request.headers), ['Authorization', 'Content-Type', 'X-Multi'], 'header keys sorted, Host left out');
});

t.test('after-hook payload: the response, an anonymous user, invalid UTF-8', async (t) => {
  const body = Buffer.from([0x7b, 0x7d, 0xff]);
  const payload = JSON.parse(
    buildConsultPayload(
      input('/dump', {
        userId: null,
        response: { status: 404, headers: ['Content-Type', 'application/json', 'transfer-encoding', 'chunked', 'set-cookie', 'a=1', 'Set-Cookie', 'b=2'], body },
      }),
    ),
  ) as Record<string, Record<string, unknown>>;
  t.equal(payload['meta']!['authenticatedMatrixUserId'], null);
  t.same(payload['response'], { statusCode: 404, headers: { 'Content-Type': 'application/json', 'Set-Cookie': 'a=1, b=2' }, payload: '{}\uFFFD' });
});

t.test('the request method and header overrides are the hook\'s', async (t) => {
  await consultHook(input('/dump?m=put', { service: { method: 'PUT', headers: { 'CONTENT-TYPE': 'application/vnd.test+json' } } }), { dispatcher });
  const received = requestsTo('/dump?m=put').at(-1)!;
  t.equal(received.method, 'PUT');
  t.equal(received.headers['content-type'], 'application/vnd.test+json', 'set case-insensitively, once');
});

t.test('user info in the URL becomes Basic authentication, unless the hook sets Authorization', async (t) => {
  const url = service.origin.replace('http://', 'http://svc%40user:p%3Ass@') + '/dump?basic';
  t.match(await consultHook(input('', { service: { url } }), { dispatcher }), { ok: true });
  const received = requestsTo('/dump?basic').at(-1)!;
  t.equal(received.headers['authorization'], `Basic ${Buffer.from('svc@user:p:ss').toString('base64')}`);
  await consultHook(input('', { service: { url: url + '2', headers: { Authorization: 'Bearer own' } } }), { dispatcher });
  t.equal(requestsTo('/dump?basic2').at(-1)!.headers['authorization'], 'Bearer own');
});

t.test('quality 18 #1: user info with an invalid %-escape is a failed consultation, never a task crash, and is not quoted', async (t) => {
  const url = service.origin.replace('http://', 'http://us%ZZer:secret-pw@') + '/dump?bad-escape';
  const result = await consultHook(input('', { service: { url } }), { dispatcher });
  t.match(result, { ok: false, code: 'consult-failed', message: /invalid %-escape/ });
  t.notMatch(JSON.stringify(result), /secret-pw/);
  t.equal(requestsTo('/dump?bad-escape').length, 0, 'nothing was sent');
});

t.test('quality 18 #12: a header named __proto__ reaches the service, in the payload and as a service header', async (t) => {
  const withProto = input('/dump?proto');
  const own = Object.create(null) as Record<string, string>;
  own['__proto__'] = 'from-policy';
  withProto.service = { ...withProto.service, headers: own };
  withProto.request = { ...withProto.request, headers: [...withProto.request.headers, '__proto__', 'from-client'] };
  t.match(JSON.parse(buildConsultPayload(withProto)), { request: { headers: { ['__proto__']: 'from-client' } } });
  t.ok(Object.hasOwn(JSON.parse(buildConsultPayload(withProto)).request.headers, '__proto__'), 'an own key of the payload');
  t.match(await consultHook(withProto, { dispatcher }), { ok: true });
  const raw = requestsTo('/dump?proto').at(-1)!.rawHeaders;
  t.equal(raw[raw.indexOf('__proto__') + 1], 'from-policy');
});

t.test('quality 18 #16: no attempt or wait runs past the request\'s time limit, and an attempt is cut to it', async (t) => {
  const started = Date.now();
  const stalled = await consultHook(input('/stall-body', { abandonAt: started + 300, service: { timeoutMs: 10_000, retryAttempts: 5, retryWaitMs: 100 } }), { dispatcher });
  t.ok(Date.now() - started < 2_000, `stopped at the limit (${Date.now() - started} ms), not after 6 attempts of 10 s`);
  t.match(stalled, { ok: false, message: /failed after 1 attempt\(s\); last: no complete answer within \d+ ms; the request's time limit ended first/ });

  const before = requestsTo('/status/500').length;
  const failing = await consultHook(input('/status/500', { abandonAt: Date.now() + 250, service: { retryAttempts: 100, retryWaitMs: 100 } }), { dispatcher });
  const made = requestsTo('/status/500').length - before;
  t.ok(made >= 1 && made <= 4, `a few attempts, not 101 (${made})`);
  t.match(failing, { ok: false, message: /the request's time limit ended first/ });

  const gone = await consultHook(input('/dump?gone', { abandonAt: Date.now() - 1 }), { dispatcher });
  t.match(gone, { ok: false, message: /failed after 0 attempt\(s\)/ });
  t.equal(requestsTo('/dump?gone').length, 0, 'nothing sent for a request whose time is already up');
});

t.test('mutation 18: a retry wait that would end past the request\'s time limit is not started', async (t) => {
  const started = Date.now();
  const before = requestsTo('/status/500').length;
  const result = await consultHook(input('/status/500', { abandonAt: started + 400, service: { retryAttempts: 1, retryWaitMs: 1_500 } }), { dispatcher });
  t.ok(Date.now() - started < 1_000, `no wait of 1.5 s past a 400 ms limit (${Date.now() - started} ms)`);
  t.equal(requestsTo('/status/500').length - before, 1, 'one attempt only');
  t.match(result, { ok: false, message: /failed after 1 attempt\(s\); .*the request's time limit ended first/ });
});

t.test('the example service\'s hooks come back compiled', async (t) => {
  const reject = await consultHook(input('/reject/forbidden'), { dispatcher });
  t.match(reject, { ok: true, value: { hook: { id: 'parent-unnamed-response', action: 'reject', responseStatusCode: 403, rejectionErrorCode: 'M_FORBIDDEN' } } });
  const respond = await consultHook(input('/respond-with-something'), { dispatcher });
  t.match(respond, { ok: true, value: { hook: { action: 'respond', responseStatusCode: 200, responseContentType: 'application/json', responseBody: '{"message":"This response is coming from the REST service"}' } } });
  service.defineHook('typed', { id: 'named', eventType: 'afterAnyRequest', action: 'pass.unmodified' });
  const typed = await consultHook(input('/hook/typed'), { dispatcher });
  t.match(typed, { ok: true, value: { hook: { id: 'named', eventType: null } } }, 'its own id is kept, the event type cleared');
  t.ok(typed.ok && typed.value.warnings.some((warning) => /eventType/.test(warning)), 'with a warning about the event type');
});

t.test('anything but 200 with a valid hook is a failure, retried', async (t) => {
  for (const path of ['/status/201', '/status/500', '/garbled', '/invalid-hook']) {
    const before = requestsTo(path).length;
    const result = await consultHook(input(path, { service: { retryAttempts: 2 } }), { dispatcher });
    t.match(result, { ok: false, code: 'consult-failed', message: /after 3 attempt\(s\)/ }, path);
    t.equal(requestsTo(path).length - before, 3, `${path}: three attempts`);
  }
  t.match(await consultHook(input('/status/201'), { dispatcher }), { ok: false, message: /HTTP 201/ });
  t.match(await consultHook(input('/garbled'), { dispatcher }), { ok: false, message: /not JSON/ });
  t.match(await consultHook(input('/invalid-hook'), { dispatcher }), { ok: false, message: /not a valid hook.*action/ });
  t.match(await consultHook(input('/respond-with-something', { maxAnswerBytes: 16 }), { dispatcher }), { ok: false, message: /larger than 16 bytes/ });
});

t.test('retries until the service recovers, waiting in between', async (t) => {
  service.resetFlaky();
  const result = await consultHook(input('/flaky/a/2', { service: { retryAttempts: 2, retryWaitMs: 50 } }), { dispatcher });
  t.match(result, { ok: true, value: { attempts: 3, hook: { action: 'reject' } } });
  const times = requestsTo('/flaky/a/').map((request) => request.receivedAt);
  t.equal(times.length, 3);
  for (let i = 1; i < times.length; i++) t.ok(times[i]! - times[i - 1]! >= 45, 'the next attempt waited for RESTServiceRetryWaitTimeMilliseconds');
  service.resetFlaky();
  t.match(await consultHook(input('/flaky/b/2', { service: { retryAttempts: 1 } }), { dispatcher }), { ok: false, message: /after 2 attempt\(s\); last: HTTP 500/ });
});

t.test('each attempt has its deadline, which covers the body', async (t) => {
  t.match(await consultHook(input('/slow/3000', { service: { timeoutMs: 200 } }), { dispatcher }), { ok: false, message: /within 200 ms/ });
  t.match(await consultHook(input('/stall-body', { service: { timeoutMs: 200, retryAttempts: 1 } }), { dispatcher }), { ok: false, message: /2 attempt.*within 200 ms/ });
  t.match(await consultHook(input('/slow/10', { service: { timeoutMs: 2000 } }), { dispatcher }), { ok: true, value: { hook: { action: 'reject' } } }, 'a deadline does not fire early: matrix-corporal\'s issue #26');
});

t.test('an unreachable service; messages name only the origin', async (t) => {
  const port = await findFreePort();
  const result = await consultHook(input('', { service: { url: `http://127.0.0.1:${port}/secret-path?token=s3cret` } }), { dispatcher });
  t.match(result, { ok: false, message: new RegExp(`^REST service http://127.0.0.1:${port} failed after 1 attempt\\(s\\); last: unreachable \\(ECONNREFUSED\\)`) });
  t.notMatch(result.ok ? '' : result.message, /secret|s3cret/);
});

t.test('Go\'s canonical header keys', async (t) => {
  const table: [string, string][] = [
    ['content-type', 'Content-Type'],
    ['X-CUSTOM-header', 'X-Custom-Header'],
    ['www-authenticate', 'Www-Authenticate'],
    ['x_under_score', 'X_under_score'],
    ['-leading', '-Leading'],
    ['has space', 'has space'],
    ['ünicode', 'ünicode'],
  ];
  for (const [name, canonical] of table) t.equal(canonicalHeaderKey(name), canonical, name);
});

t.test('through the offload pool', async (t) => {
  const pool = createOffloadPool({ Threads: 1, MaxQueue: 16, ConcurrentTasksPerWorker: 8 }, { logger: createSilentLogger() });
  t.teardown(() => pool.close());
  const results = await Promise.all(['/reject/forbidden', '/dump', '/slow/50', '/status/404'].map((path) => pool.run('consultHook', input(path))));
  t.match(results, [
    { ok: true, value: { hook: { action: 'reject', id: 'parent-unnamed-response' } } },
    { ok: true, value: { hook: { action: 'pass.unmodified' } } },
    { ok: true, value: { hook: { action: 'reject' } } },
    { ok: false, code: 'consult-failed', message: /HTTP 404/ },
  ]);
});

t.test('gzip: asked for, as matrix-corporal\'s Go client did; a gzip answer is applied, another encoding is a failure', async (t) => {
  const zipped = await consultHook(input('/gzip/reject'), { dispatcher });
  t.match(zipped, { ok: true, value: { hook: { action: 'reject' } } });
  t.equal(requestsTo('/gzip/reject').at(-1)?.headers['accept-encoding'], 'gzip');
  t.equal(requestsTo('/gzip/reject').at(-1)?.headers['user-agent'], 'Corporal');
  t.match(await consultHook(input('/brotli'), { dispatcher }), { ok: false, code: 'consult-failed', message: /could not be decoded \(.*"br"/ });
});
