import t from 'tap';
import { Agent } from 'undici';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { createDirectConsultor } from '../../../../src/gateway/hooks/consultor.js';
import { CATCH_ALL_AUTHENTICATED, LOGIN, POLICY_CHECKED_AUTHENTICATED } from '../../../../src/gateway/hooks/hook-events.js';
import { CONTINUE, HookEngine } from '../../../../src/gateway/hooks/hook-engine.js';
import type { HookRequest } from '../../../../src/gateway/hooks/hook-request.js';
import type { UpstreamResponse } from '../../../../src/gateway/hooks/response-state.js';
import type { HookEventType } from '../../../../src/policy/snapshot.js';
import { startHookRestService } from '../../../support/hook-rest-service.js';
import { CLIENT_ADDRESS, headerLines, hookRequest, snapshotWith, upstream } from './fixtures/hook-fixtures.js';

const dispatcher = new Agent({ connect: { timeout: 2000 }, keepAliveTimeout: 1000 });
t.teardown(() => dispatcher.close());
const service = await startHookRestService();
t.teardown(() => service.close());
const engine = new HookEngine({ consultor: createDirectConsultor(dispatcher), logger: createSilentLogger(), maxInspectedBodyBytes: 1 << 20 });

const AFTER = POLICY_CHECKED_AUTHENTICATED.after;
const SYNAPSE_HEADERS = ['Content-Type', 'application/json', 'Content-Length', '18', 'Access-Control-Allow-Origin', '*', 'Cache-Control', 'no-cache'];
const ROOM = () => upstream(200, SYNAPSE_HEADERS, '{"room_id":"!r:x"}');
const AFTER_FAILED_BODY = '{"errcode":"M_UNKNOWN","error":"Afer-hook execution failed, cannot proceed"}';

function after(id: string, action: string, extra: object = {}, eventType = 'afterAnyRequest'): object {
  return { id, eventType, action, ...extra };
}

async function applyAfter(hooks: object[], response: UpstreamResponse = ROOM(), request: HookRequest = hookRequest({ body: '{"name":"room"}' }), eventTypes: readonly HookEventType[] = AFTER): Promise<UpstreamResponse> {
  const plan = engine.scheduleAfter(snapshotWith(hooks), eventTypes, request);
  if (plan === null) throw new Error('expected an after-plan');
  await plan.prepare();
  return plan.apply(response);
}

t.test('no after-hook: no plan (the response streams untouched)', async (t) => {
  const request = hookRequest();
  t.equal(engine.scheduleAfter(snapshotWith([after('x', 'pass.unmodified', { methodMatchesRegex: 'GET' })]), AFTER, request), null);
  t.equal(engine.scheduleAfter(snapshotWith([after('x', 'pass.unmodified', {}, 'afterUnauthenticatedRequest')]), AFTER, request), null);
  t.equal(engine.scheduleAfter(snapshotWith([{ id: 'b', eventType: 'beforeAnyRequest', action: 'pass.unmodified' }]), AFTER, request), null);
});

t.test('nothing changed: the upstream response object itself', async (t) => {
  const response = ROOM();
  t.equal(await applyAfter([after('p', 'pass.unmodified'), after('m', 'pass.modifiedResponse', { injectJSONIntoResponse: {} })], response), response);
});

t.test('reject and respond replace the upstream response', async (t) => {
  const rejected = await applyAfter([after('r', 'reject', { rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Not after all' })]);
  t.equal(rejected.status, 403);
  t.equal(rejected.body.toString(), '{"errcode":"M_FORBIDDEN","error":"Not after all"}');
  t.same(headerLines(rejected), ['cache-control: no-cache', 'content-type: application/json', 'access-control-allow-origin: *', `content-length: ${rejected.body.length}`]);

  const responded = await applyAfter([after('s', 'respond', { responseStatusCode: 201, responseContentType: 'text/plain', responsePayload: 'made' })], upstream(200, ['Content-Type', 'application/json', 'Content-Encoding', 'gzip', 'Transfer-Encoding', 'chunked'], 'zzz'));
  t.equal(responded.status, 201);
  t.equal(responded.body.toString(), 'made');
  t.same(headerLines(responded), ['content-type: text/plain', 'access-control-allow-origin: *', 'content-length: 4'], 'Content-Encoding and Transfer-Encoding dropped with the old body');
});

t.test('a later after-hook still runs on a replaced response (matrix-corporal ignores "response sent" there)', async (t) => {
  const response = await applyAfter([
    after('r', 'respond', { responseStatusCode: 200, responsePayload: { replaced: true } }),
    after('m', 'pass.modifiedResponse', { injectJSONIntoResponse: { merged: true } }),
  ]);
  t.equal(response.body.toString(), '{"replaced":true,"merged":true}');
});

t.test('pass.modifiedResponse: JSON merge and headers; Content-Length follows the body', async (t) => {
  const response = await applyAfter([after('m', 'pass.modifiedResponse', { injectJSONIntoResponse: { room_id: '!other:x', extra: 1 }, injectHeadersIntoResponse: { 'x-custom-header': 'v', 'Cache-Control': 'private', 'Content-Length': '1' } })]);
  t.equal(response.status, 200);
  t.equal(response.body.toString(), '{"room_id":"!other:x","extra":1}');
  t.same(headerLines(response), ['content-type: application/json', 'access-control-allow-origin: *', 'x-custom-header: v', 'cache-control: private', 'content-length: 32']);
  t.equal(response.rawHeaders[4]!.toString(), 'X-Custom-Header', 'injected names in Go\'s canonical form');

  const headersOnly = await applyAfter([after('h', 'pass.modifiedResponse', { injectJSONIntoResponse: {}, injectHeadersIntoResponse: { 'X-A': 'b' } })], upstream(200, ['Content-Type', 'text/plain', 'Content-Length', '3'], 'abc'));
  t.equal(headersOnly.body.toString(), 'abc', 'header-only injection needs no JSON body');
  t.same(headerLines(headersOnly), ['content-type: text/plain', 'content-length: 3', 'x-a: b']);

  const encoding = { 'Content-Encoding': 'gzip', 'X-A': 'b' };
  const plain = await applyAfter([after('e', 'pass.modifiedResponse', { injectJSONIntoResponse: {}, injectHeadersIntoResponse: encoding })], upstream(200, ['Content-Type', 'text/plain', 'Content-Length', '3'], 'abc'));
  t.same(headerLines(plain), ['content-type: text/plain', 'content-length: 3', 'x-a: b'], 'a hook cannot declare an encoding the body does not have');
  const gzipped = await applyAfter([after('e', 'pass.modifiedResponse', { injectJSONIntoResponse: {}, injectHeadersIntoResponse: { 'Content-Encoding': 'identity' } })], upstream(200, ['Content-Encoding', 'gzip', 'Content-Length', '3'], 'zzz'));
  t.same(headerLines(gzipped), ['content-encoding: gzip', 'content-length: 3'], "nor remove the encoding of Synapse's body it kept");
});

t.test('pass.modifiedResponse on a body that is not a JSON object: 503, later hooks do not run', async (t) => {
  for (const body of ['', 'text', '[1]']) {
    const response = await applyAfter([
      after('m', 'pass.modifiedResponse', { injectJSONIntoResponse: { a: 1 } }),
      after('later', 'respond', { responseStatusCode: 200, responsePayload: 'x', responseSkipPayloadJSONSerialization: true }),
    ], upstream(200, ['Content-Type', 'application/json'], body));
    t.equal(response.status, 503, JSON.stringify(body));
    t.equal(response.body.toString(), AFTER_FAILED_BODY);
  }
});

t.test('skip ends only its own event type\'s chain, and is honoured on pass.modifiedResponse (both fixed)', async (t) => {
  const response = await applyAfter([
    after('m', 'pass.modifiedResponse', { injectJSONIntoResponse: { first: 1 }, skipNextHooksInChain: true }),
    after('skipped', 'pass.modifiedResponse', { injectJSONIntoResponse: { skipped: 1 } }),
    after('next-type', 'pass.modifiedResponse', { injectJSONIntoResponse: { nextType: 1 } }, 'afterAuthenticatedRequest'),
    after('third-type', 'pass.modifiedResponse', { injectJSONIntoResponse: { thirdType: 1 } }, 'afterAuthenticatedPolicyCheckedRequest'),
  ]);
  t.equal(response.body.toString(), '{"room_id":"!r:x","first":1,"nextType":1,"thirdType":1}');
});

t.test('event types run in the order scheduled', async (t) => {
  const response = await applyAfter([
    after('c', 'pass.modifiedResponse', { injectJSONIntoResponse: { order: ['checked'] } }, 'afterAuthenticatedPolicyCheckedRequest'),
    after('b', 'pass.modifiedResponse', { injectJSONIntoResponse: { order: ['authenticated'] } }, 'afterAuthenticatedRequest'),
    after('a', 'pass.modifiedResponse', { injectJSONIntoResponse: { order: ['any'] } }),
  ]);
  t.equal(JSON.parse(response.body.toString()).order[0], 'checked', 'the last one wins: afterAuthenticatedPolicyChecked ran last');
  const login = await applyAfter([after('u', 'pass.modifiedResponse', { injectJSONIntoResponse: { unauth: true } }, 'afterUnauthenticatedRequest')], ROOM(), hookRequest({ userId: null }), LOGIN.after);
  t.match(JSON.parse(login.body.toString()), { unauth: true });
});

t.test('pass.modifiedRequest after the request was sent', async (t) => {
  t.equal((await applyAfter([after('m', 'pass.modifiedRequest', { injectJSONIntoRequest: {}, injectHeadersIntoRequest: { 'X-Late': '1' } })])).status, 200, 'nothing to merge: no-op');
  const failed = await applyAfter([after('m', 'pass.modifiedRequest', { injectJSONIntoRequest: { late: true } })]);
  t.same([failed.status, failed.body.toString()], [503, AFTER_FAILED_BODY]);
});

t.test('consult in after position: the payload includes the response; the yielded hook acts on it', async (t) => {
  const request = hookRequest({ body: '{"name":"room"}' });
  const response = await applyAfter([after('c', 'consult.RESTServiceURL', { RESTServiceURL: `${service.origin}/inject-something-into-response?after` })], ROOM(), request);
  t.equal(response.body.toString(), '{"room_id":"!r:x","customKey":"value"}');
  t.match(headerLines(response), ['content-type: application/json', 'access-control-allow-origin: *', 'cache-control: no-cache', 'x-custom-header: Header-Value', 'content-length: 38']);
  const received = await service.waitForRequest('/inject-something-into-response?after');
  t.same(received.json, {
    meta: { hookId: 'c', authenticatedMatrixUserId: '@alice:example.com' },
    request: { URI: '/_matrix/client/v3/createRoom', path: '/_matrix/client/v3/createRoom', method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': CLIENT_ADDRESS }, payload: '{"name":"room"}' },
    response: { statusCode: 200, headers: { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-cache', 'Content-Length': '18', 'Content-Type': 'application/json' }, payload: '{"room_id":"!r:x"}' },
  });
  const rejected = await applyAfter([after('c', 'consult.RESTServiceURL', { RESTServiceURL: `${service.origin}/reject/forbidden` })]);
  t.equal(rejected.status, 403);
});

t.test('consult in after position: a yielded pass.modifiedRequest, failures, contingency', async (t) => {
  const tooLate = await applyAfter([after('c', 'consult.RESTServiceURL', { RESTServiceURL: `${service.origin}/inject-something-into-request` })]);
  t.same([tooLate.status, tooLate.body.toString()], [503, AFTER_FAILED_BODY]);
  const down = await applyAfter([after('c', 'consult.RESTServiceURL', { RESTServiceURL: `${service.origin}/status/502` })]);
  t.equal(down.status, 503);
  const contingency = await applyAfter([after('c', 'consult.RESTServiceURL', { RESTServiceURL: `${service.origin}/status/502`, RESTServiceContingencyHook: { action: 'pass.modifiedResponse', injectJSONIntoResponse: { degraded: true } } })]);
  t.equal(contingency.body.toString(), '{"room_id":"!r:x","degraded":true}');
});

t.test('the request body is read before proxying when an after-hook consults, once', async (t) => {
  const request = hookRequest({ body: '{"kept":1}' });
  const plan = engine.scheduleAfter(snapshotWith([after('c', 'consult.RESTServiceURL', { RESTServiceURL: `${service.origin}/dump?prepared` })]), AFTER, request)!;
  t.equal(plan.needsRequestBody, true);
  await plan.prepare();
  t.equal(request.loadedBody?.toString(), '{"kept":1}', 'to be sent upstream from memory');
  t.equal(plan.prepare(), null, 'nothing more to wait for');
  await plan.apply(ROOM());
  t.equal(request.bodyReads, 1);
  const noConsult = engine.scheduleAfter(snapshotWith([after('p', 'pass.unmodified')]), AFTER, hookRequest({ body: '{}' }))!;
  t.equal(noConsult.needsRequestBody, false);
  t.equal(noConsult.prepare(), null);
});

t.test('a before-hook\'s REST service may modify the response: applied first, even with no after-hook', async (t) => {
  const request = hookRequest({ body: '{}' });
  const snapshot = snapshotWith([
    { id: 'c', eventType: 'beforeAnyRequest', action: 'consult.RESTServiceURL', RESTServiceURL: `${service.origin}/inject-something-into-response` },
    after('a', 'pass.modifiedResponse', { injectJSONIntoResponse: { customKey: 'after-hook wins' } }, 'afterAuthenticatedRequest'),
  ]);
  t.equal(await engine.runBefore(snapshot, CATCH_ALL_AUTHENTICATED.before, request), CONTINUE);
  const plan = engine.scheduleAfter(snapshot, CATCH_ALL_AUTHENTICATED.after, request)!;
  t.equal((await plan.apply(ROOM())).body.toString(), '{"room_id":"!r:x","customKey":"after-hook wins"}');

  const alone = hookRequest({ body: '{}' });
  const onlyBefore = snapshotWith([{ id: 'c', eventType: 'beforeAnyRequest', action: 'consult.RESTServiceURL', RESTServiceURL: `${service.origin}/inject-something-into-response` }]);
  await engine.runBefore(onlyBefore, CATCH_ALL_AUTHENTICATED.before, alone);
  const planAlone = engine.scheduleAfter(onlyBefore, CATCH_ALL_AUTHENTICATED.after, alone);
  t.not(planAlone, null, 'a plan exists for the pending modification');
  t.equal((await planAlone!.apply(ROOM())).body.toString(), '{"room_id":"!r:x","customKey":"value"}');
  const notJson = await planAlone!.apply(upstream(200, [], 'x'));
  t.same([notJson.status, notJson.body.toString()], [503, AFTER_FAILED_BODY]);
});

t.test('rules of after-hooks are matched when scheduled', async (t) => {
  const snapshot = snapshotWith([after('alice', 'pass.modifiedResponse', { injectJSONIntoResponse: { alice: true }, matrixUserIdMatchesRegex: '^@alice:' })]);
  t.not(engine.scheduleAfter(snapshot, AFTER, hookRequest()), null);
  t.equal(engine.scheduleAfter(snapshot, AFTER, hookRequest({ userId: '@bob:example.com' })), null);
});
