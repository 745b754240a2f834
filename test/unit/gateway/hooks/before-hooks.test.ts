import t from 'tap';
import { Agent } from 'undici';
import { CorporalError } from '../../../../src/common/errors.js';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { createDirectConsultor } from '../../../../src/gateway/hooks/consultor.js';
import { CATCH_ALL_AUTHENTICATED, POLICY_CHECKED_AUTHENTICATED } from '../../../../src/gateway/hooks/hook-events.js';
import { CONTINUE, HookEngine, type BeforeOutcome } from '../../../../src/gateway/hooks/hook-engine.js';
import { MAX_CONSULT_DEPTH } from '../../../../src/gateway/hooks/hook-executor.js';
import { startHookRestService } from '../../../support/hook-rest-service.js';
import { CLIENT_ADDRESS, hookRequest, snapshotWith } from './fixtures/hook-fixtures.js';

const dispatcher = new Agent({ connect: { timeout: 2000 }, keepAliveTimeout: 1000 });
t.teardown(() => dispatcher.close());
const service = await startHookRestService({ rejectProbability: 1 });
t.teardown(() => service.close());
const engine = new HookEngine({ consultor: createDirectConsultor(dispatcher), logger: createSilentLogger(), maxInspectedBodyBytes: 1 << 20 });

const BEFORE = POLICY_CHECKED_AUTHENTICATED.before;
const FAILED = { kind: 'respond', status: 503, body: '{"errcode":"M_UNKNOWN","error":"Hook execution failed, cannot proceed"}', failed: true };

function consult(id: string, path: string, extra: object = {}): object {
  return { id, eventType: 'beforeAnyRequest', action: 'consult.RESTServiceURL', RESTServiceURL: service.origin + path, ...extra };
}

async function runBefore(hooks: object[], request = hookRequest({ body: '{"name":"room"}' })): Promise<BeforeOutcome> {
  return engine.runBefore(snapshotWith(hooks), BEFORE, request);
}

t.test('no matching hook: CONTINUE, synchronously, body untouched', async (t) => {
  const request = hookRequest({ body: '{}' });
  const outcome = engine.runBefore(snapshotWith([{ id: 'get', eventType: 'beforeAnyRequest', action: 'reject', rejectionErrorCode: 'M_X', rejectionErrorMessage: 'x', methodMatchesRegex: '^GET$' }]), BEFORE, request);
  t.equal(outcome, CONTINUE, 'the constant itself, not a promise');
  t.equal(request.bodyReads, 0);
  t.equal(engine.runBefore(snapshotWith([]), BEFORE, request), CONTINUE);
});

t.test('pass.unmodified, reject (default 403), respond', async (t) => {
  t.equal(await runBefore([{ id: 'p', eventType: 'beforeAnyRequest', action: 'pass.unmodified' }]), CONTINUE);
  t.same(await runBefore([{ id: 'r', eventType: 'beforeAnyRequest', action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'No.' }]), {
    kind: 'respond', status: 403, headers: [['Content-Type', 'application/json'], ['Access-Control-Allow-Origin', '*']], body: '{"errcode":"M_FORBIDDEN","error":"No."}', hookId: 'r', failed: false,
  });
  t.match(await runBefore([{ id: 'r', eventType: 'beforeAnyRequest', action: 'reject', responseStatusCode: 451, rejectionErrorCode: 'M_X', rejectionErrorMessage: 'gone' }]), { status: 451 });
  t.same(await runBefore([{ id: 's', eventType: 'beforeAnyRequest', action: 'respond', responseStatusCode: 200, responsePayload: { a: 1 } }]), {
    kind: 'respond', status: 200, headers: [['Content-Type', 'application/json'], ['Access-Control-Allow-Origin', '*']], body: '{"a":1}', hookId: 's', failed: false,
  });
  t.match(await runBefore([{ id: 's', eventType: 'beforeAnyRequest', action: 'respond', responseStatusCode: 202, responseContentType: 'text/plain', responsePayload: 'hi' }]), {
    status: 202, headers: [['Content-Type', 'text/plain'], ['Access-Control-Allow-Origin', '*']], body: 'hi',
  });
});

t.test('chains: policy order within a type, types in order, first answer wins', async (t) => {
  const reject = (id: string, eventType: string, extra: object = {}) => ({ id, eventType, action: 'reject', rejectionErrorCode: 'M_X', rejectionErrorMessage: id, ...extra });
  t.match(await runBefore([reject('checked', 'beforeAuthenticatedPolicyCheckedRequest'), reject('auth', 'beforeAuthenticatedRequest'), reject('any', 'beforeAnyRequest')]), { hookId: 'any' });
  t.match(await runBefore([reject('first', 'beforeAnyRequest'), reject('second', 'beforeAnyRequest')]), { hookId: 'first' });
});

t.test('skipNextHooksInChain ends its own type\'s chain only', async (t) => {
  const hooks = [
    { id: 'skip', eventType: 'beforeAnyRequest', action: 'pass.unmodified', skipNextHooksInChain: true },
    { id: 'skipped', eventType: 'beforeAnyRequest', action: 'reject', rejectionErrorCode: 'M_X', rejectionErrorMessage: 'skipped' },
    { id: 'next-type', eventType: 'beforeAuthenticatedRequest', action: 'reject', rejectionErrorCode: 'M_X', rejectionErrorMessage: 'next type' },
  ];
  t.match(await runBefore(hooks), { kind: 'respond', hookId: 'next-type' });
  t.equal(await runBefore(hooks.slice(0, 2).concat([{ ...hooks[2]!, eventType: 'beforeUnauthenticatedRequest' }])), CONTINUE, 'beforeUnauthenticated does not fire for an authenticated policy-checked request');
});

t.test('pass.modifiedRequest: JSON merge, headers, header-only injection (reference bug fixed)', async (t) => {
  const request = hookRequest({ body: '{"name":"room","preset":"private_chat"}' });
  const outcome = await runBefore([
    { id: 'm', eventType: 'beforeAnyRequest', action: 'pass.modifiedRequest', injectJSONIntoRequest: { preset: 'public_chat', extra: [1] }, injectHeadersIntoRequest: { 'X-Custom-Header': 'v', 'Content-Type': 'application/json; charset=utf-8' } },
  ], request);
  t.equal(outcome, CONTINUE);
  t.equal(request.loadedBody?.toString(), '{"name":"room","preset":"public_chat","extra":[1]}');
  t.ok(request.bodyChanged);
  t.ok(request.headersChanged);
  t.same(request.headers, ['host', 'matrix.example.com', 'content-length', '50', 'x-custom-header', 'v', 'content-type', 'application/json; charset=utf-8']);

  const headerOnly = hookRequest({ body: 'not json at all' });
  t.equal(await runBefore([{ id: 'h', eventType: 'beforeAnyRequest', action: 'pass.modifiedRequest', injectJSONIntoRequest: {}, injectHeadersIntoRequest: { 'X-Only': 'yes' } }], headerOnly), CONTINUE);
  t.equal(headerOnly.bodyReads, 0, 'the body is neither read nor needed');
  t.same(headerOnly.headers.slice(-2), ['x-only', 'yes']);

  const framing = hookRequest({ body: '{}', headers: ['host', 'matrix.example.com', 'content-type', 'application/json', 'authorization', 'Bearer checked'] });
  await runBefore([{
    id: 'f', eventType: 'beforeAnyRequest', action: 'pass.modifiedRequest', injectJSONIntoRequest: {},
    injectHeadersIntoRequest: { 'Content-Length': '1', Host: 'evil', 'Transfer-Encoding': 'chunked', Authorization: 'Bearer someone-else' },
  }], framing);
  t.same(framing.headers, ['host', 'matrix.example.com', 'content-type', 'application/json', 'authorization', 'Bearer checked'],
    'framing headers, Host and Authorization (the user the gateway checked) are the gateway\'s');

  const withContentType = async (value: string): Promise<readonly string[]> => {
    const request = hookRequest({ body: '{}' });
    await runBefore([{ id: 'ct', eventType: 'beforeAnyRequest', action: 'pass.modifiedRequest', injectJSONIntoRequest: {}, injectHeadersIntoRequest: { 'Content-Type': value } }], request);
    return request.headers;
  };
  t.same(await withContentType('application/x-www-form-urlencoded'), ['host', 'matrix.example.com', 'content-type', 'application/json'],
    'a form Content-Type on a POST is not set: Synapse would read access_token from the body');
  t.same(await withContentType('application/json; charset=utf-8'), ['host', 'matrix.example.com', 'content-type', 'application/json; charset=utf-8'], 'another Content-Type is');

  const proto = hookRequest({ body: '{}' });
  await runBefore([{ id: 'p', eventType: 'beforeAnyRequest', action: 'pass.modifiedRequest', injectJSONIntoRequest: JSON.parse('{"__proto__":{"polluted":true}}') as object }], proto);
  t.equal(proto.loadedBody?.toString(), '{"__proto__":{"polluted":true}}', 'an injected __proto__ is a plain key');
  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

t.test('pass.modifiedRequest on a body that is not a JSON object: 503', async (t) => {
  for (const body of ['', 'nope', '[1,2]', 'null', '"s"']) {
    t.match(await runBefore([{ id: 'm', eventType: 'beforeAnyRequest', action: 'pass.modifiedRequest', injectJSONIntoRequest: { a: 1 } }], hookRequest({ body })), FAILED, JSON.stringify(body));
  }
  t.match(await runBefore([{ id: 'm', eventType: 'beforeAnyRequest', action: 'pass.modifiedRequest', injectJSONIntoRequest: { a: 1 } }], hookRequest()), FAILED, 'no body at all');
  const notUtf8 = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
  t.match(await runBefore([{ id: 'm', eventType: 'beforeAnyRequest', action: 'pass.modifiedRequest', injectJSONIntoRequest: { a: 1 } }], hookRequest({ body: notUtf8 })), FAILED,
    'a body Synapse refuses as not UTF-8 is not made valid JSON for it');
});

t.test('a body that cannot be read rejects (the pipeline answers it, e.g. 413)', async (t) => {
  const tooLarge = new CorporalError('CORP_ERR_BODY_TOO_LARGE', 'Request body exceeds 10 bytes', { source: 'client', status: 413, errcode: 'M_TOO_LARGE' });
  const request = hookRequest({ readBody: () => Promise.reject(tooLarge) });
  await t.rejects(runBefore([{ id: 'm', eventType: 'beforeAnyRequest', action: 'pass.modifiedRequest', injectJSONIntoRequest: { a: 1 } }], request), { code: 'CORP_ERR_BODY_TOO_LARGE', status: 413 });
});

t.test('consult: the service\'s hook runs in place of the consult hook', async (t) => {
  t.match(await runBefore([consult('c', '/reject/forbidden')]), { kind: 'respond', status: 403, hookId: 'c-unnamed-response', failed: false });
  t.match(await runBefore([consult('c', '/respond-with-something')]), { status: 200, body: '{"message":"This response is coming from the REST service"}' });
  t.equal(await runBefore([consult('c', '/dump')]), CONTINUE);

  const request = hookRequest({ body: '{"name":"room"}' });
  t.equal(await runBefore([consult('c', '/inject-something-into-request')], request), CONTINUE);
  t.equal(request.loadedBody?.toString(), '{"name":"room","customKey":"value"}');
  t.same(request.headers.slice(-2), ['x-custom-header', 'Header-Value']);

  const modifies = hookRequest({ body: '{}' });
  t.equal(await runBefore([consult('c', '/inject-something-into-response')], modifies), CONTINUE);
  t.same(modifies.responseModifiers.map((hook) => hook.id), ['c-unnamed-response'], 'a returned pass.modifiedResponse waits for the upstream response');
});

t.test('consult: the payload describes the request as it is at that point', async (t) => {
  const request = hookRequest({ method: 'PUT', rawPath: '/_matrix/client/v3/rooms/!r%3Aexample.com/send/m.room.message/t1', rawQuery: 'access_token=tok', body: '{"body":"hi"}' });
  await runBefore([
    { id: 'm', eventType: 'beforeAnyRequest', action: 'pass.modifiedRequest', injectJSONIntoRequest: { extra: true }, injectHeadersIntoRequest: { 'X-Seen': '1' } },
    consult('c', '/dump?payload-test'),
  ], request);
  const received = await service.waitForRequest('/dump?payload-test');
  t.same(received.json, {
    meta: { hookId: 'c', authenticatedMatrixUserId: '@alice:example.com' },
    request: {
      URI: '/_matrix/client/v3/rooms/!r%3Aexample.com/send/m.room.message/t1?access_token=tok',
      path: '/_matrix/client/v3/rooms/!r:example.com/send/m.room.message/t1',
      method: 'PUT',
      headers: { 'Content-Length': '26', 'Content-Type': 'application/json', 'X-Forwarded-For': CLIENT_ADDRESS, 'X-Seen': '1' },
      payload: '{"body":"hi","extra":true}',
    },
    response: null,
  });
});

t.test('consult: Forwarded and X-Real-IP reach the service only from a trusted proxy, as upstream', async (t) => {
  const claimed = ['forwarded', 'for=6.6.6.6', 'x-real-ip', '6.6.6.6', 'x-forwarded-for', '6.6.6.6'];
  for (const peerTrusted of [false, true]) {
    const path = `/dump?address-claims-${peerTrusted}`;
    const request = hookRequest({ headers: ['host', 'matrix.example.com', ...claimed], peerTrusted });
    await runBefore([consult('c', path)], request);
    const headers = ((await service.waitForRequest(path)).json as { request: { headers: Record<string, string> } }).request.headers;
    const expected = peerTrusted ? { Forwarded: 'for=6.6.6.6', 'X-Forwarded-For': CLIENT_ADDRESS, 'X-Real-Ip': '6.6.6.6' } : { 'X-Forwarded-For': CLIENT_ADDRESS };
    t.same(headers, expected, peerTrusted ? 'trusted peer: passed on' : 'any other peer: left out');
    t.same(request.headers.slice(2), claimed, 'what goes upstream is decided there (upstream/request-headers.ts), not changed here');
  }
});

t.test('consult: skip on the consult hook or on the yielded hook ends the chain', async (t) => {
  const rejectAfter = { id: 'later', eventType: 'beforeAnyRequest', action: 'reject', rejectionErrorCode: 'M_X', rejectionErrorMessage: 'later' };
  service.defineHook('pass-skip', { action: 'pass.unmodified', skipNextHooksInChain: true });
  t.equal(await runBefore([consult('c', '/dump', { skipNextHooksInChain: true }), rejectAfter]), CONTINUE, 'the consult hook\'s own skip');
  t.equal(await runBefore([consult('c', '/hook/pass-skip'), rejectAfter]), CONTINUE, 'the yielded hook\'s skip');
  t.match(await runBefore([consult('c', '/dump'), rejectAfter]), { hookId: 'later' }, 'neither: the chain goes on');
});

t.test('consult failures: contingency hook, else 503', async (t) => {
  const contingency = { RESTServiceContingencyHook: { action: 'reject', rejectionErrorCode: 'M_CONTINGENCY', rejectionErrorMessage: 'service down' } };
  t.match(await runBefore([consult('c', '/status/500', contingency)]), { status: 403, body: '{"errcode":"M_CONTINGENCY","error":"service down"}', hookId: 'c-unnamed-response' });
  t.match(await runBefore([consult('c', '/status/500')]), FAILED);
  t.match(await runBefore([consult('c', '/garbled')]), FAILED);
  t.match(await runBefore([consult('c', '/invalid-hook')]), FAILED, 'a returned hook that is not valid is a failure');
  t.match(await runBefore([consult('c', '/slow/2000', { RESTServiceRequestTimeoutMilliseconds: 100 })]), FAILED);
  service.resetFlaky();
  t.match(await runBefore([consult('c', '/flaky/before/1', { RESTServiceRetryAttempts: 1 })]), { status: 403, hookId: 'c-unnamed-response' }, 'a retry rescues it');
});

t.test('consult chains: a service may answer with another consult hook, up to a depth bound', async (t) => {
  service.defineHook('to-reject', { action: 'consult.RESTServiceURL', RESTServiceURL: `${service.origin}/reject/forbidden` });
  t.match(await runBefore([consult('c', '/hook/to-reject')]), { status: 403, hookId: 'c-unnamed-response-unnamed-response' });
  service.defineHook('loop', { id: 'loop', action: 'consult.RESTServiceURL', RESTServiceURL: `${service.origin}/hook/loop` });
  const before = service.requests.filter((request) => request.path === '/hook/loop').length;
  t.match(await runBefore([consult('c', '/hook/loop')]), FAILED, 'a loop ends in a 503');
  t.equal(service.requests.filter((request) => request.path === '/hook/loop').length - before, MAX_CONSULT_DEPTH);
});

t.test('async consult: answers at once with the async-result hook, consults in the background', async (t) => {
  const request = hookRequest({ rawPath: '/_matrix/client/v3/createRoom', rawQuery: 'async=1', body: '{"async":true}' });
  const outcome = await runBefore([consult('c', '/slow/300?async', { RESTServiceAsync: true })], request);
  t.equal(outcome, CONTINUE, 'default async result: pass.unmodified (the service would have rejected)');
  const received = await service.waitForRequest('/slow/300?async');
  t.match(received.json, { meta: { hookId: 'c' }, request: { payload: '{"async":true}', URI: '/_matrix/client/v3/createRoom?async=1' } });
  t.match(
    await runBefore([consult('c', '/dump?async2', { RESTServiceAsync: true, RESTServiceAsyncResultHook: { action: 'respond', responseStatusCode: 202, responsePayload: { queued: true } } })]),
    { status: 202, body: '{"queued":true}', hookId: 'c-unnamed-response' },
  );
  await service.waitForRequest('/dump?async2');
  t.equal(await runBefore([consult('c', '/status/500?async3', { RESTServiceAsync: true })]), CONTINUE, 'a failing async consultation does not affect the request');
  await service.waitForRequest('/status/500?async3');
});

t.test('a request without a body: consultations see an empty payload, nothing is to be sent in its place', async (t) => {
  const request = hookRequest({ method: 'GET', rawPath: '/_matrix/client/v3/sync' });
  t.equal(await runBefore([consult('c', '/dump?no-body')], request), CONTINUE);
  t.match((await service.waitForRequest('/dump?no-body')).json, { request: { method: 'GET', payload: '' } });
  t.equal(request.loadedBody, null);
});

t.test('hooks see the identity the pipeline resolved', async (t) => {
  const onlyAlice = [{ id: 'a', eventType: 'beforeAnyRequest', action: 'reject', rejectionErrorCode: 'M_X', rejectionErrorMessage: 'a', matrixUserIdMatchesRegex: '^@alice:' }];
  t.match(await engine.runBefore(snapshotWith(onlyAlice), CATCH_ALL_AUTHENTICATED.before, hookRequest()), { hookId: 'a' });
  t.equal(engine.runBefore(snapshotWith(onlyAlice), CATCH_ALL_AUTHENTICATED.before, hookRequest({ userId: null })), CONTINUE);
});

t.test('hook failures any client can repeat are logged once per interval: the client\'s at warn, the rest at error', async (t) => {
  const { captureLogger } = await import('../../../support/control-plane.js');
  const { logger, lines } = captureLogger();
  const logged = new HookEngine({ consultor: createDirectConsultor(dispatcher), logger, maxInspectedBodyBytes: 1 << 20 });
  const inject = [{ id: 'm', eventType: 'beforeAnyRequest', action: 'pass.modifiedRequest', injectJSONIntoRequest: { a: 1 } }];
  for (let i = 0; i < 50; i++) t.match(await logged.runBefore(snapshotWith(inject), BEFORE, hookRequest({ body: 'x' })), FAILED);
  for (let i = 0; i < 3; i++) t.match(await logged.runBefore(snapshotWith([consult('c', '/status/500')]), BEFORE, hookRequest({ body: '{}' })), FAILED);
  await new Promise((resolve) => setImmediate(resolve));
  const failures = lines.filter((line) => line['msg'] === 'hook execution failed');
  t.same(failures.map((line) => [line['level'], line['hookId'], line['suppressed']]), [[40, 'm', 0], [50, 'c', 0]],
    'one warning for 50 bodies that are not JSON objects, one error for the failing service');
  const contingency = { RESTServiceContingencyHook: { action: 'reject', rejectionErrorCode: 'M_CONTINGENCY', rejectionErrorMessage: 'service down' } };
  for (let i = 0; i < 5; i++) t.match(await logged.runBefore(snapshotWith([consult('k', '/status/500', contingency)]), BEFORE, hookRequest({ body: '{}' })), { status: 403 });
  await new Promise((resolve) => setImmediate(resolve));
  t.same(lines.filter((line) => line['msg'] === 'hook consultation failed; running the contingency hook').map((line) => [line['level'], line['hookId']]), [[40, 'k']],
    'a failing service with a contingency hook: one warning for five requests');
});
