import t from 'tap';
import { startHookScenario } from '../../support/hook-scenario.js';
import { matrixCall } from '../../support/matrix-client.js';

/**
 * Every hook action, in before and in after position, through Corporal's real gateway in front
 * of a real Synapse: what the client gets, what Synapse executed (its state read directly), and
 * what reached it (the recording proxy). Bodies are bounded by `MaxInspectedBodyBytes` (16 KiB here).
 */

const MAX_BODY = 16 * 1024;
const scenario = await startHookScenario({ gateway: { MaxInspectedBodyBytes: MAX_BODY } });
t.teardown(() => scenario.stop());
const { users } = scenario;

const HOOK_FAILED = { errcode: 'M_UNKNOWN', error: 'Hook execution failed, cannot proceed' };
const AFTER_HOOK_FAILED = { errcode: 'M_UNKNOWN', error: 'Afer-hook execution failed, cannot proceed' };

let counter = 0;
/** A fresh account-data type and its path for alice (a catch-all route that changes Synapse's state). */
function accountData(): { type: string; path: string } {
  const type = `m.hooktest.${++counter}`;
  return { type, path: `/_matrix/client/v3/user/${encodeURIComponent(users.alice.userId)}/account_data/${type}` };
}

/** A before- and an after-hook on account-data PUTs, with these fields. */
function onAccountData(id: string, eventType: string, fields: object): object {
  return { id, eventType, matchRules: [{ type: 'method', regex: '^PUT$' }, { type: 'route', regex: '/account_data/m\\.hooktest\\.' }], ...fields };
}

const REJECT = { action: 'reject', responseStatusCode: 451, rejectionErrorCode: 'M_HOOKED', rejectionErrorMessage: 'Rejected by a hook' };

t.test('before-hooks', async (t) => {
  t.test('pass.unmodified: proxied as sent', async (t) => {
    await scenario.setHooks([onAccountData('pass', 'beforeAuthenticatedRequest', { action: 'pass.unmodified' })]);
    const { type, path } = accountData();
    t.equal((await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } })).status, 200);
    t.same(await scenario.accountData('alice', type), { a: 1 });
  });

  t.test('reject: answered by the gateway, Synapse untouched', async (t) => {
    await scenario.setHooks([onAccountData('reject', 'beforeAnyRequest', REJECT)]);
    const { type, path } = accountData();
    const answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 451);
    t.same(answer.json, { errcode: 'M_HOOKED', error: 'Rejected by a hook' });
    t.equal(answer.headers['access-control-allow-origin'], '*');
    t.match(answer.headers['content-type'], /^application\/json/);
    t.equal(await scenario.accountData('alice', type), null);
  });

  t.test('respond: JSON and a raw string payload', async (t) => {
    await scenario.setHooks([
      onAccountData('respond-json', 'beforeAuthenticatedRequest', { action: 'respond', responseStatusCode: 202, responsePayload: { served: 'by hook' } }),
      { id: 'respond-text', eventType: 'beforeAnyRequest', routeMatchesRegex: '/joined_rooms$', action: 'respond', responseStatusCode: 200, responseContentType: 'text/plain', responsePayload: 'plain words' },
    ]);
    const { type, path } = accountData();
    const json = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(json.status, 202);
    t.same(json.json, { served: 'by hook' });
    t.equal(await scenario.accountData('alice', type), null);
    const text = await scenario.viaGateway('alice', 'GET', '/_matrix/client/v3/joined_rooms');
    t.equal(text.status, 200);
    t.equal(text.text, 'plain words');
    t.match(text.headers['content-type'], /^text\/plain/);
  });

  t.test('pass.modifiedRequest: JSON merged into the body Synapse gets, headers set', async (t) => {
    await scenario.setHooks([onAccountData('modify', 'beforeAuthenticatedRequest', {
      action: 'pass.modifiedRequest', injectJSONIntoRequest: { a: 2, injected: { deep: true } }, injectHeadersIntoRequest: { 'X-Injected': 'yes' },
    })]);
    const { type, path } = accountData();
    t.equal((await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1, kept: 'k' } })).status, 200);
    t.same(await scenario.accountData('alice', type), { a: 2, kept: 'k', injected: { deep: true } });
    const forwarded = scenario.upstream.headersOf(path).at(-1)!;
    t.equal(forwarded['x-injected'], 'yes', 'the injected header reached Synapse');
    t.equal(forwarded['content-length'], String(Buffer.byteLength(JSON.stringify({ a: 2, kept: 'k', injected: { deep: true } }))), 'Content-Length of the new body');
  });

  t.test('pass.modifiedRequest, headers only: the body is left alone (matrix-corporal dropped such injections)', async (t) => {
    await scenario.setHooks([
      onAccountData('headers-only', 'beforeAuthenticatedRequest', { action: 'pass.modifiedRequest', injectJSONIntoRequest: {}, injectHeadersIntoRequest: { 'X-Only-Header': 'h' } }),
      // A hook cannot hand a request another user's token: the gateway checked the request as sent (red team 15, F4).
      { id: 'auth', eventType: 'beforeUnauthenticatedRequest', routeMatchesRegex: '/account/whoami$', action: 'pass.modifiedRequest', injectJSONIntoRequest: {}, injectHeadersIntoRequest: { Authorization: `Bearer ${users.bob.accessToken}` } },
    ]);
    const { type, path } = accountData();
    const raw = '{ "spaced" : [1, 2] }';
    t.equal((await scenario.viaGateway('alice', 'PUT', path, { rawBody: raw, headers: { 'content-type': 'application/json' } })).status, 200);
    t.same(await scenario.accountData('alice', type), { spaced: [1, 2] });
    const forwarded = scenario.upstream.headersOf(path).at(-1)!;
    t.equal(forwarded['x-only-header'], 'h');
    t.equal(forwarded['content-length'], String(raw.length), 'the body went upstream byte for byte');
    const me = await scenario.viaGateway(null, 'GET', '/_matrix/client/v3/account/whoami');
    t.match([me.status, me.json], [401, { errcode: 'M_MISSING_TOKEN' }], 'an injected Authorization is ignored: Synapse saw no token');
  });

  t.test('pass.modifiedRequest on a body that is not a JSON object: 503, Synapse untouched', async (t) => {
    await scenario.setHooks([onAccountData('bad-body', 'beforeAuthenticatedRequest', { action: 'pass.modifiedRequest', injectJSONIntoRequest: { a: 1 } })]);
    const { type, path } = accountData();
    const answer = await scenario.viaGateway('alice', 'PUT', path, { rawBody: '[1,2]', headers: { 'content-type': 'application/json' } });
    t.equal(answer.status, 503);
    t.same(answer.json, HOOK_FAILED);
    t.equal(await scenario.accountData('alice', type), null);
  });

  t.test('a body a hook must read and that is over MaxInspectedBodyBytes: 413', async (t) => {
    await scenario.setHooks([onAccountData('big', 'beforeAuthenticatedRequest', { action: 'pass.modifiedRequest', injectJSONIntoRequest: { a: 1 } })]);
    const { type, path } = accountData();
    const answer = await scenario.viaGateway('alice', 'PUT', path, { body: { big: 'x'.repeat(MAX_BODY) } });
    t.equal(answer.status, 413);
    t.match(answer.json, { errcode: 'M_TOO_LARGE' });
    t.equal(await scenario.accountData('alice', type), null);
  });

  t.test('consult: the service answers each action', async (t) => {
    const { service } = scenario;
    const consultWith = (id: string, route: string) => onAccountData(id, 'beforeAuthenticatedRequest', { action: 'consult.RESTServiceURL', RESTServiceURL: `${service.origin}${route}` });

    await scenario.setHooks([consultWith('c-reject', '/reject/forbidden')]);
    let { type, path } = accountData();
    let answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 403, 'reject');
    t.same(answer.json, { errcode: 'M_FORBIDDEN', error: 'Rejected by the hook REST service' });
    t.equal(await scenario.accountData('alice', type), null);

    await scenario.setHooks([consultWith('c-respond', '/respond-with-something')]);
    ({ type, path } = accountData());
    answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 200, 'respond');
    t.same(answer.json, { message: 'This response is coming from the REST service' });
    t.equal(await scenario.accountData('alice', type), null);

    await scenario.setHooks([consultWith('c-request', '/inject-something-into-request')]);
    ({ type, path } = accountData());
    t.equal((await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } })).status, 200, 'pass.modifiedRequest');
    t.same(await scenario.accountData('alice', type), { a: 1, customKey: 'value' });
    t.equal(scenario.upstream.headersOf(path).at(-1)!['x-custom-header'], 'Header-Value');

    await scenario.setHooks([consultWith('c-response', '/inject-something-into-response')]);
    ({ type, path } = accountData());
    answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 200, 'pass.modifiedResponse returned to a before-hook applies to the response');
    t.same(answer.json, { customKey: 'value' }, "Synapse's {} with the key merged in");
    t.equal(answer.headers['x-custom-header'], 'Header-Value');
    t.same(await scenario.accountData('alice', type), { a: 1 });

    await scenario.setHooks([consultWith('c-pass', '/dump')]);
    ({ type, path } = accountData());
    t.equal((await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } })).status, 200, 'pass.unmodified');
    t.same(await scenario.accountData('alice', type), { a: 1 });
  });
});

t.test('after-hooks', async (t) => {
  t.test('pass.unmodified: Synapse response as it came', async (t) => {
    await scenario.setHooks([onAccountData('a-pass', 'afterAuthenticatedRequest', { action: 'pass.unmodified' })]);
    const { type, path } = accountData();
    const answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 200);
    t.same(answer.json, {});
    t.same(await scenario.accountData('alice', type), { a: 1 });
  });

  t.test('reject and respond replace the response; Synapse already executed the request', async (t) => {
    await scenario.setHooks([onAccountData('a-reject', 'afterAnyRequest', REJECT)]);
    let { type, path } = accountData();
    let answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 451);
    t.same(answer.json, { errcode: 'M_HOOKED', error: 'Rejected by a hook' });
    t.equal(answer.headers['access-control-allow-origin'], '*');
    t.same(await scenario.accountData('alice', type), { a: 1 });

    await scenario.setHooks([onAccountData('a-respond', 'afterAuthenticatedRequest', { action: 'respond', responseStatusCode: 201, responsePayload: ['replaced'] })]);
    ({ type, path } = accountData());
    answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 201);
    t.same(answer.json, ['replaced']);
    t.equal(answer.headers['content-length'], String(Buffer.byteLength('["replaced"]')));
    t.same(await scenario.accountData('alice', type), { a: 1 });
  });

  t.test('pass.modifiedResponse: JSON merged into the response, headers set, framing recomputed', async (t) => {
    const { path } = accountData();
    await matrixCall(scenario.hs.baseUrl, 'PUT', path, { token: users.alice.accessToken, body: { stored: 'value', n: 1 } });
    await scenario.setHooks([{
      id: 'a-modify', eventType: 'afterAuthenticatedRequest', matchRules: [{ type: 'method', regex: '^GET$' }, { type: 'route', regex: '/account_data/' }],
      action: 'pass.modifiedResponse', injectJSONIntoResponse: { n: 2, added: true }, injectHeadersIntoResponse: { 'X-Response-Header': 'r' },
    }]);
    const answer = await scenario.viaGateway('alice', 'GET', path);
    t.equal(answer.status, 200);
    t.same(answer.json, { stored: 'value', n: 2, added: true });
    t.equal(answer.headers['x-response-header'], 'r');
    t.equal(answer.headers['content-length'], String(Buffer.byteLength(answer.text)));
  });

  t.test('pass.modifiedRequest with JSON to inject in after position: the after-hook error, Synapse executed', async (t) => {
    await scenario.setHooks([onAccountData('a-late', 'afterAuthenticatedRequest', { action: 'pass.modifiedRequest', injectJSONIntoRequest: { a: 9 } })]);
    const { type, path } = accountData();
    const answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 503);
    t.same(answer.json, AFTER_HOOK_FAILED);
    t.same(await scenario.accountData('alice', type), { a: 1 });
  });

  t.test('consult: the payload carries the response; the service answers each action', async (t) => {
    const { service } = scenario;
    const consultWith = (id: string, route: string) => onAccountData(id, 'afterAuthenticatedRequest', { action: 'consult.RESTServiceURL', RESTServiceURL: `${service.origin}${route}` });

    await scenario.setHooks([consultWith('ac-response', '/inject-something-into-response')]);
    let { path } = accountData();
    let answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 200);
    t.same(answer.json, { customKey: 'value' });
    t.equal(answer.headers['x-custom-header'], 'Header-Value');

    await scenario.setHooks([consultWith('ac-reject', '/reject/forbidden')]);
    ({ path } = accountData());
    answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 403);
    t.same(answer.json, { errcode: 'M_FORBIDDEN', error: 'Rejected by the hook REST service' });

    await scenario.setHooks([consultWith('ac-respond', '/respond-with-something')]);
    ({ path } = accountData());
    answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 200);
    t.same(answer.json, { message: 'This response is coming from the REST service' });

    await scenario.setHooks([consultWith('ac-request', '/inject-something-into-request')]);
    let type: string;
    ({ type, path } = accountData());
    answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 503, 'a returned pass.modifiedRequest is too late after proxying');
    t.same(answer.json, AFTER_HOOK_FAILED);
    t.same(await scenario.accountData('alice', type), { a: 1 });

    const from = service.requests.length;
    await scenario.setHooks([consultWith('ac-dump', '/dump')]);
    ({ path } = accountData());
    answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
    t.equal(answer.status, 200);
    const dumped = service.requests.slice(from).find((call) => call.path === '/dump');
    t.match(dumped?.json, { meta: { hookId: 'ac-dump' }, request: { method: 'PUT', payload: '{"a":1}' }, response: { statusCode: 200, payload: '{}' } }, 'the request body was kept for the after-hook');
  });

  t.test("a response after-hooks would hold that is over MaxInspectedBodyBytes: 502, never passed on unchecked", async (t) => {
    const { path } = accountData();
    await matrixCall(scenario.hs.baseUrl, 'PUT', path, { token: users.alice.accessToken, body: { big: 'y'.repeat(MAX_BODY) } });
    await scenario.setHooks([{ id: 'a-big', eventType: 'afterAnyRequest', matchRules: [{ type: 'method', regex: '^GET$' }, { type: 'route', regex: '/account_data/' }], action: 'pass.unmodified' }]);
    const answer = await scenario.viaGateway('alice', 'GET', path);
    t.equal(answer.status, 502);
    t.match(answer.json, { errcode: 'M_UNKNOWN' });
    await scenario.setHooks([]);
    t.equal((await scenario.viaGateway('alice', 'GET', path)).status, 200, 'without the hook the response streams');
  });
});
