import t from 'tap';
import { startHookScenario } from '../../support/hook-scenario.js';
import type { HookServiceRequest } from '../../support/hook-rest-service.js';

/**
 * What a hook REST service receives (reference §7.7), field by field, from Corporal's real gateway
 * in front of a real Synapse; which user the hooks see on each kind of route (identity is resolved
 * before `beforeAnyRequest`: matrix-corporal's quirk 11, fixed); what reaches Synapse when
 * after-hooks are scheduled.
 */

const scenario = await startHookScenario();
t.teardown(() => scenario.stop());
const { service, users, room } = scenario;

const CANONICAL_HEADER = /^[A-Z0-9][a-z0-9]*(-[A-Z0-9][a-z0-9]*)*$/;

interface Payload {
  meta: { hookId: string; authenticatedMatrixUserId: string | null };
  request: { URI: string; path: string; method: string; headers: Record<string, string>; payload: string };
  response: null | { statusCode: number; headers: Record<string, string>; payload: string };
}

/** The consultations recorded since `from`, for hooks named `prefix…`, as parsed payloads. */
function payloadsSince(from: number, prefix: string): Array<{ call: HookServiceRequest; payload: Payload }> {
  return service.requests.slice(from).filter((call) => call.path.startsWith(`/hook/${prefix}`)).map((call) => ({ call, payload: call.json as Payload }));
}

t.test('a policy-checked send: before and after payloads, field by field', async (t) => {
  const pass = { action: 'pass.unmodified' };
  await scenario.setHooks([
    { id: 'p-any', eventType: 'beforeAnyRequest', action: 'consult.RESTServiceURL', RESTServiceURL: scenario.serviceHook('p-any', pass), routeMatchesRegex: '/send/' },
    {
      id: 'p-checked', eventType: 'beforeAuthenticatedPolicyCheckedRequest', action: 'consult.RESTServiceURL', routeMatchesRegex: '/send/',
      RESTServiceURL: scenario.serviceHook('p-checked', pass), RESTServiceRequestMethod: 'PUT', RESTServiceRequestHeaders: { Authorization: 'Bearer SOME_TOKEN', 'x-service-key': 'k1' },
    },
    { id: 'p-after', eventType: 'afterAuthenticatedPolicyCheckedRequest', action: 'consult.RESTServiceURL', RESTServiceURL: scenario.serviceHook('p-after', pass), routeMatchesRegex: '/send/' },
  ]);
  const from = service.requests.length;
  const rawPath = `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/txn%2F1`;
  const body = JSON.stringify({ msgtype: 'm.text', body: 'héllo' });
  const answer = await scenario.viaGateway('alice', 'PUT', `${rawPath}?foo=bar%20baz&x=1`, {
    rawBody: body,
    // 6.6.6.6 is what the client at 203.0.113.50 claims; the test's connection (127.0.0.1, trusted
    // by default) vouches only for 203.0.113.50.
    headers: { 'content-type': 'application/json', 'x-custom-header': 'Custom', 'x-forwarded-for': '6.6.6.6, 203.0.113.50' },
  });
  t.equal(answer.status, 200, answer.text);
  const eventId = (answer.json as { event_id: string }).event_id;

  const calls = payloadsSince(from, 'p-');
  t.same(calls.map(({ call }) => call.path), ['/hook/p-any', '/hook/p-checked', '/hook/p-after'], 'beforeAny, beforeAuthenticatedPolicyChecked, afterAuthenticatedPolicyChecked, in that order');
  for (const { call, payload } of calls) {
    t.same(Object.keys(payload), ['meta', 'request', 'response'], `${call.path}: top-level fields in matrix-corporal's order`);
    t.same(Object.keys(payload.request), ['URI', 'path', 'method', 'headers', 'payload']);
    t.equal(payload.meta.authenticatedMatrixUserId, users.alice.userId, `${call.path}: the user is known (beforeAny included)`);
    t.equal(payload.request.URI, `${rawPath}?foo=bar%20baz&x=1`, 'URI: raw path and query, escapes kept');
    t.equal(payload.request.path, `/_matrix/client/v3/rooms/${room}/send/m.room.message/txn/1`, 'path: percent-decoded, no query');
    t.equal(payload.request.method, 'PUT');
    t.equal(payload.request.payload, body, 'payload: the request body as a string');
    const headers = payload.request.headers;
    t.equal(headers['Authorization'], `Bearer ${users.alice.accessToken}`, 'the client Authorization header is passed on');
    t.equal(headers['Content-Type'], 'application/json');
    t.equal(headers['Content-Length'], String(Buffer.byteLength(body)));
    t.equal(headers['X-Custom-Header'], 'Custom');
    t.equal(headers['X-Forwarded-For'], '203.0.113.50, 127.0.0.1', 'X-Forwarded-For: the chain Synapse receives, not the client\'s claim');
    t.notOk('Host' in headers, 'no Host');
    t.ok(Object.keys(headers).every((name) => CANONICAL_HEADER.test(name)), `Go-canonical names: ${Object.keys(headers).join(' ')}`);
    t.same(Object.keys(headers), [...Object.keys(headers)].sort(), 'keys sorted');
  }
  const [any, checked, after] = calls;
  t.equal(any!.payload.meta.hookId, 'p-any');
  t.equal(checked!.payload.meta.hookId, 'p-checked');
  t.equal(after!.payload.meta.hookId, 'p-after');
  t.equal(any!.payload.response, null, 'before-hooks: response is null');
  t.equal(checked!.payload.response, null);

  t.equal(any!.call.method, 'POST', 'RESTServiceRequestMethod defaults to POST');
  t.equal(any!.call.headers['content-type'], 'application/json');
  t.equal(checked!.call.method, 'PUT', 'RESTServiceRequestMethod');
  t.equal(checked!.call.headers['authorization'], 'Bearer SOME_TOKEN', 'RESTServiceRequestHeaders are sent');
  t.equal(checked!.call.headers['x-service-key'], 'k1');
  t.equal(checked!.call.headers['content-type'], 'application/json');

  const response = after!.payload.response!;
  t.equal(response.statusCode, 200, 'after-hooks: the upstream response');
  t.match(response.headers['Content-Type'], /^application\/json/);
  t.same(JSON.parse(response.payload), { event_id: eventId }, "the response payload is Synapse's body");
  t.ok(Object.keys(response.headers).every((name) => CANONICAL_HEADER.test(name)));
  t.notOk('Transfer-Encoding' in response.headers);
});

t.test('the user hooks see per kind of route', async (t) => {
  const pass = { action: 'pass.unmodified' };
  const url = scenario.serviceHook('who', pass);
  await scenario.setHooks([{ id: 'who', eventType: 'beforeAnyRequest', action: 'consult.RESTServiceURL', RESTServiceURL: url }]);
  const cases: Array<{ label: string; user: 'alice' | 'bob' | null; method: string; path: string; headers?: Record<string, string>; body?: unknown; expected: string | null }> = [
    { label: 'catch-all with a token', user: 'bob', method: 'GET', path: '/_matrix/client/v3/joined_rooms', expected: users.bob.userId },
    { label: 'catch-all without a token', user: null, method: 'GET', path: '/_matrix/client/versions', expected: null },
    { label: 'catch-all with an unknown token', user: null, method: 'GET', path: '/_matrix/client/v3/joined_rooms', headers: { authorization: 'Bearer not-a-token' }, expected: null },
    { label: 'policy-checked, beforeAny', user: 'alice', method: 'PUT', path: `/_matrix/client/r0/rooms/${encodeURIComponent(room)}/send/m.room.message/who1`, body: { msgtype: 'm.text', body: 'x' }, expected: users.alice.userId },
    { label: 'login, even with a token', user: 'alice', method: 'POST', path: '/_matrix/client/v3/login', body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'nobody' }, password: 'x' }, expected: null },
  ];
  for (const c of cases) {
    const from = service.requests.length;
    await scenario.viaGateway(c.user, c.method, c.path, { ...(c.body === undefined ? {} : { body: c.body }), ...(c.headers ? { headers: c.headers } : {}) });
    const calls = payloadsSince(from, 'who');
    t.equal(calls.length, 1, `${c.label}: one consultation`);
    t.equal(calls[0]?.payload.meta.authenticatedMatrixUserId, c.expected, c.label);
  }
});

t.test('no hook fires for OPTIONS, the info route or internal REST auth', async (t) => {
  await scenario.setHooks([
    { id: 'any-reject', eventType: 'beforeAnyRequest', action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'hooked' },
    { id: 'unauth-reject', eventType: 'beforeUnauthenticatedRequest', action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'hooked' },
  ]);
  const options = await scenario.viaGateway(null, 'OPTIONS', '/_matrix/client/v3/joined_rooms');
  t.equal(options.status, 200);
  const info = await scenario.viaGateway(null, 'GET', '/_matrix/client/corporal');
  t.equal(info.status, 200);
  t.equal(info.text, 'Matrix Client-Server API protected by Matrix Corporal');
  const internal = await scenario.viaGateway(null, 'POST', '/_matrix/corporal/_matrix-internal/identity/v1/check_credentials', { body: { user: { id: '@a:b', password: 'x' } } });
  t.equal(internal.status, 403);
  t.match(internal.json, { errcode: 'M_FORBIDDEN', error: 'Internal REST auth is not enabled' });
  const proxied = await scenario.viaGateway(null, 'GET', '/_matrix/client/versions');
  t.equal(proxied.status, 403, 'the same hooks do fire on a proxied route');
  t.match(proxied.json, { error: 'hooked' });
});

t.test('matrixUserID rules: no match without a user (inverted: a match)', async (t) => {
  await scenario.setHooks([
    { id: 'only-alice', eventType: 'beforeAnyRequest', action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'alice rule', matchRules: [{ type: 'matrixUserID', regex: '^@alice:' }, { type: 'route', regex: '/joined_rooms$' }] },
    { id: 'not-bob', eventType: 'beforeAnyRequest', action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'not-bob rule', matchRules: [{ type: 'matrixUserID', regex: '^@bob:', invert: true }, { type: 'route', regex: '/versions$' }] },
  ]);
  t.match((await scenario.viaGateway('alice', 'GET', '/_matrix/client/v3/joined_rooms')).json, { error: 'alice rule' });
  t.equal((await scenario.viaGateway('bob', 'GET', '/_matrix/client/v3/joined_rooms')).status, 200);
  t.equal((await scenario.viaGateway(null, 'GET', '/_matrix/client/v3/joined_rooms')).status, 401, 'anonymous: the alice rule does not match (Synapse answers)');
  t.match((await scenario.viaGateway(null, 'GET', '/_matrix/client/versions')).json, { error: 'not-bob rule' }, 'anonymous: the inverted rule matches');
  t.equal((await scenario.viaGateway('bob', 'GET', '/_matrix/client/versions')).status, 200);
});

t.test('with after-hooks Accept-Encoding is not forwarded; without, it is', async (t) => {
  await scenario.setHooks([{ id: 'after', eventType: 'afterAnyRequest', action: 'pass.unmodified', routeMatchesRegex: '/joined_rooms$' }]);
  const path = '/_matrix/client/v3/joined_rooms';
  const before = scenario.upstream.headersOf(path).length;
  t.equal((await scenario.viaGateway('alice', 'GET', path, { headers: { 'accept-encoding': 'gzip' } })).status, 200);
  t.equal((await scenario.viaGateway('alice', 'GET', '/_matrix/client/v3/capabilities', { headers: { 'accept-encoding': 'gzip' } })).status, 200);
  const seen = scenario.upstream.headersOf(path).slice(before);
  t.equal(seen.length, 1);
  t.equal(seen[0]!['accept-encoding'], undefined, 'after-hook route: dropped');
  t.equal(scenario.upstream.headersOf('/_matrix/client/v3/capabilities').at(-1)?.['accept-encoding'], 'gzip', 'no after-hook: forwarded');
});
