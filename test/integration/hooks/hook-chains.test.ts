import t from 'tap';
import { startHookScenario } from '../../support/hook-scenario.js';

/**
 * Chains through the real gateway and Synapse: event types fire in the order of their handler
 * kind (reference §7.2) whatever the policy order, each type's chain in policy order; a skip ends
 * only its own type's chain, before and after (matrix-corporal: an after skip ended every later
 * after-hook, and a skip on an after `pass.modifiedResponse` was ignored); requests answered or
 * refused before proxying run no after-hook; login and policy-checked sequences.
 */

const scenario = await startHookScenario({ enableRegistration: true });
t.teardown(() => scenario.stop());
const { users, service } = scenario;

let counter = 0;
function accountDataPath(): { type: string; path: string } {
  const type = `m.chaintest.${++counter}`;
  return { type, path: `/_matrix/client/v3/user/${encodeURIComponent(users.alice.userId)}/account_data/${type}` };
}

const ON_PUT = [{ type: 'method', regex: '^PUT$' }, { type: 'route', regex: '/account_data/m\\.chaintest\\.' }];
const inject = (id: string, eventType: string, json: object, extra: object = {}) => ({ id, eventType, matchRules: ON_PUT, action: 'pass.modifiedRequest', injectJSONIntoRequest: json, ...extra });
const injectResponse = (id: string, eventType: string, json: object, extra: object = {}) => ({ id, eventType, matchRules: ON_PUT, action: 'pass.modifiedResponse', injectJSONIntoResponse: json, ...extra });
const consult = (id: string, eventType: string, extra: object = {}) => ({ id, eventType, action: 'consult.RESTServiceURL', RESTServiceURL: `${service.origin}/dump?${id}`, ...extra });

/** The ids of the consult hooks of {@link consult} called since `from`, in order. */
function consultedSince(from: number): string[] {
  return service.requests.slice(from).filter((call) => call.path.startsWith('/dump?')).map((call) => call.path.slice('/dump?'.length));
}

t.test('before: types in handler order, chains in policy order', async (t) => {
  await scenario.setHooks([
    inject('auth-1', 'beforeAuthenticatedRequest', { last: 'auth-1', auth1: true }),
    inject('any-1', 'beforeAnyRequest', { last: 'any-1', any1: true }),
    inject('auth-2', 'beforeAuthenticatedRequest', { last: 'auth-2', auth2: true }),
    inject('any-2', 'beforeAnyRequest', { last: 'any-2', any2: true }),
  ]);
  const { type, path } = accountDataPath();
  t.equal((await scenario.viaGateway('alice', 'PUT', path, { body: { base: 1 } })).status, 200);
  t.same(await scenario.accountData('alice', type), { base: 1, last: 'auth-2', auth1: true, any1: true, auth2: true, any2: true });
});

t.test('before: a skip ends its own chain, the next type still runs', async (t) => {
  await scenario.setHooks([
    { id: 'skip', eventType: 'beforeAnyRequest', matchRules: ON_PUT, action: 'pass.unmodified', skipNextHooksInChain: true },
    { id: 'skipped', eventType: 'beforeAnyRequest', matchRules: ON_PUT, action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'must not run' },
    inject('next-type', 'beforeAuthenticatedRequest', { ran: 'next-type' }),
  ]);
  const { type, path } = accountDataPath();
  t.equal((await scenario.viaGateway('alice', 'PUT', path, { body: {} })).status, 200);
  t.same(await scenario.accountData('alice', type), { ran: 'next-type' });
});

t.test("before: a consult hook's own skip counts", async (t) => {
  await scenario.setHooks([
    { ...consult('c-skip', 'beforeAnyRequest', { skipNextHooksInChain: true }), matchRules: ON_PUT },
    { id: 'skipped', eventType: 'beforeAnyRequest', matchRules: ON_PUT, action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'must not run' },
  ]);
  const { type, path } = accountDataPath();
  t.equal((await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } })).status, 200);
  t.same(await scenario.accountData('alice', type), { a: 1 });
});

t.test('before: an answer ends everything (no later hook, no after-hook, nothing proxied)', async (t) => {
  await scenario.setHooks([
    { ...consult('first', 'beforeAnyRequest'), matchRules: ON_PUT },
    { id: 'answer', eventType: 'beforeAnyRequest', matchRules: ON_PUT, action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'stop' },
    { ...consult('later-same-type', 'beforeAnyRequest'), matchRules: ON_PUT },
    { ...consult('later-type', 'beforeAuthenticatedRequest'), matchRules: ON_PUT },
    { ...consult('after', 'afterAnyRequest'), matchRules: ON_PUT },
  ]);
  const { type, path } = accountDataPath();
  const from = service.requests.length;
  const answer = await scenario.viaGateway('alice', 'PUT', path, { body: { a: 1 } });
  t.equal(answer.status, 403);
  t.match(answer.json, { error: 'stop' });
  t.same(consultedSince(from), ['first']);
  t.equal(await scenario.accountData('alice', type), null);
});

t.test('after: types in handler order, chains in policy order; reject without skip is still modified', async (t) => {
  await scenario.setHooks([
    injectResponse('auth-1', 'afterAuthenticatedRequest', { last: 'auth-1', auth1: true }),
    injectResponse('any-1', 'afterAnyRequest', { last: 'any-1', inChain: 'any-1' }),
    injectResponse('any-2', 'afterAnyRequest', { last: 'any-2', inChain: 'any-2' }),
  ]);
  const { path } = accountDataPath();
  const answer = await scenario.viaGateway('alice', 'PUT', path, { body: {} });
  t.equal(answer.status, 200);
  t.same(answer.json, { last: 'auth-1', inChain: 'any-2', auth1: true });

  await scenario.setHooks([
    { id: 'reject', eventType: 'afterAnyRequest', matchRules: ON_PUT, action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'replaced' },
    injectResponse('then', 'afterAnyRequest', { amended: true }),
  ]);
  const replaced = await scenario.viaGateway('alice', 'PUT', accountDataPath().path, { body: {} });
  t.equal(replaced.status, 403);
  t.same(replaced.json, { errcode: 'M_FORBIDDEN', error: 'replaced', amended: true }, 'as in matrix-corporal, later after-hooks work on the replacement');
});

t.test('after: a skip (on pass.modifiedResponse too) ends only its own chain', async (t) => {
  await scenario.setHooks([
    injectResponse('skip', 'afterAnyRequest', { x: 1 }, { skipNextHooksInChain: true }),
    injectResponse('skipped', 'afterAnyRequest', { y: 1 }),
    injectResponse('next-type', 'afterAuthenticatedRequest', { z: 1 }),
  ]);
  const answer = await scenario.viaGateway('alice', 'PUT', accountDataPath().path, { body: {} });
  t.equal(answer.status, 200);
  t.same(answer.json, { x: 1, z: 1 });

  await scenario.setHooks([
    { id: 'pass-skip', eventType: 'afterAnyRequest', matchRules: ON_PUT, action: 'pass.unmodified', skipNextHooksInChain: true },
    { id: 'skipped', eventType: 'afterAnyRequest', matchRules: ON_PUT, action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'must not run' },
    injectResponse('next-type', 'afterAuthenticatedRequest', { z: 2 }),
  ]);
  const second = await scenario.viaGateway('alice', 'PUT', accountDataPath().path, { body: {} });
  t.equal(second.status, 200);
  t.same(second.json, { z: 2 });
});

t.test('catch-all without a user: the Unauthenticated types, never the Authenticated ones', async (t) => {
  const types = ['beforeAnyRequest', 'beforeAuthenticatedRequest', 'beforeUnauthenticatedRequest', 'beforeAuthenticatedPolicyCheckedRequest', 'afterAnyRequest', 'afterAuthenticatedRequest', 'afterUnauthenticatedRequest', 'afterAuthenticatedPolicyCheckedRequest'];
  await scenario.setHooks(types.map((eventType) => ({ ...consult(eventType, eventType), routeMatchesRegex: '/(versions|joined_rooms)$' })));
  let from = service.requests.length;
  t.equal((await scenario.viaGateway(null, 'GET', '/_matrix/client/versions')).status, 200);
  t.same(consultedSince(from), ['beforeAnyRequest', 'beforeUnauthenticatedRequest', 'afterAnyRequest', 'afterUnauthenticatedRequest']);
  from = service.requests.length;
  t.equal((await scenario.viaGateway('bob', 'GET', '/_matrix/client/v3/joined_rooms')).status, 200);
  t.same(consultedSince(from), ['beforeAnyRequest', 'beforeAuthenticatedRequest', 'afterAnyRequest', 'afterAuthenticatedRequest']);
});

t.test('policy-checked routes', async (t) => {
  const types = ['beforeAnyRequest', 'beforeAuthenticatedRequest', 'beforeUnauthenticatedRequest', 'beforeAuthenticatedPolicyCheckedRequest', 'afterAnyRequest', 'afterAuthenticatedRequest', 'afterUnauthenticatedRequest', 'afterAuthenticatedPolicyCheckedRequest'];
  const everyType = (route: string) => types.map((eventType) => ({ ...consult(eventType, eventType), routeMatchesRegex: route }));
  const send = `/_matrix/client/v3/rooms/${encodeURIComponent(scenario.room)}/send/m.room.message/`;

  await scenario.setHooks(everyType('/send/'));
  let from = service.requests.length;
  t.equal((await scenario.viaGateway('alice', 'PUT', `${send}pc1`, { body: { msgtype: 'm.text', body: 'x' } })).status, 200);
  t.same(consultedSince(from), [
    'beforeAnyRequest', 'beforeAuthenticatedRequest', 'beforeAuthenticatedPolicyCheckedRequest',
    'afterAnyRequest', 'afterAuthenticatedRequest', 'afterAuthenticatedPolicyCheckedRequest',
  ], 'with a user');

  from = service.requests.length;
  const anonymous = await scenario.viaGateway(null, 'PUT', `${send}pc2`, { body: { msgtype: 'm.text', body: 'x' } });
  t.equal(anonymous.status, 401, 'no token: the token rule answers');
  t.same(consultedSince(from), ['beforeAnyRequest'], 'no token: only beforeAnyRequest ran, no after-hook');

  // POST …/account/password may come without a token; the flag decides.
  const password = '/_matrix/client/v3/account/password';
  await scenario.setHooks(everyType('/account/password$'));
  from = service.requests.length;
  const denied = await scenario.viaGateway(null, 'POST', password, { body: { new_password: 'x' } });
  t.equal(denied.status, 403, 'the policy check denies');
  t.same(consultedSince(from), ['beforeAnyRequest'], 'a denial runs no after-hook');

  await scenario.setHooks(everyType('/account/password$'), { allowUnauthenticatedPasswordResets: true });
  from = service.requests.length;
  const allowed = await scenario.viaGateway(null, 'POST', password, { body: { new_password: 'x' } });
  t.equal(allowed.status, 401, "proxied: Synapse's UIA answer");
  t.same(consultedSince(from), ['beforeAnyRequest', 'afterAnyRequest'], 'without a user: only the *AnyRequest types');
  const after = service.requests.filter((call) => call.path === '/dump?afterAnyRequest').at(-1);
  t.match(after?.json, { response: { statusCode: 401 } });
});

t.test("a route Corporal polices and matrix-corporal did not, without a user: the catch-all's Unauthenticated types (parity review 18, P1)", async (t) => {
  const types = ['beforeAnyRequest', 'beforeAuthenticatedRequest', 'beforeUnauthenticatedRequest', 'beforeAuthenticatedPolicyCheckedRequest', 'afterAnyRequest', 'afterAuthenticatedRequest', 'afterUnauthenticatedRequest', 'afterAuthenticatedPolicyCheckedRequest'];
  const register = '/_matrix/client/v3/register';
  const registration = (username: string) => ({ body: { username, password: 'Correct-Horse-9', auth: { type: 'm.login.dummy' } } });
  const exists = async (localpart: string) =>
    (await scenario.viaGateway('corporal', 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(`@${localpart}:${scenario.hs.serverName}`)}`)).status === 200;

  await scenario.setHooks(types.map((eventType) => ({ ...consult(eventType, eventType), routeMatchesRegex: '/register$' })));
  let from = service.requests.length;
  const registered = await scenario.viaGateway(null, 'POST', register, registration('chain-open'));
  t.equal(registered.status, 200, registered.text);
  t.same(consultedSince(from), ['beforeAnyRequest', 'beforeUnauthenticatedRequest', 'afterAnyRequest', 'afterUnauthenticatedRequest']);

  // matrix-corporal's way to close registration: a reject hook of the catch-all's type.
  await scenario.setHooks([{
    id: 'close-registration', eventType: 'beforeUnauthenticatedRequest', routeMatchesRegex: '/register$', methodMatchesRegex: '^POST$',
    action: 'reject', responseStatusCode: 403, rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'registration is closed',
  }]);
  const closed = await scenario.viaGateway(null, 'POST', register, registration('chain-closed'));
  t.same([closed.status, closed.json], [403, { errcode: 'M_FORBIDDEN', error: 'registration is closed' }]);
  t.notOk(await exists('chain-closed'), 'Synapse registered nobody');
  t.ok(await exists('chain-open'), 'the control: the open registration did register');

  // A token-requiring route that matrix-corporal did not police: the hooks run, then the token rule answers.
  const ban = `/_matrix/client/v3/rooms/${encodeURIComponent(scenario.room)}/ban`;
  await scenario.setHooks(types.map((eventType) => ({ ...consult(eventType, eventType), routeMatchesRegex: '/ban$' })));
  from = service.requests.length;
  const anonymous = await scenario.viaGateway(null, 'POST', ban, { body: { user_id: users.bob.userId } });
  t.equal(anonymous.status, 401, 'no token: the token rule answers');
  t.same(consultedSince(from), ['beforeAnyRequest', 'beforeUnauthenticatedRequest'], 'the catch-all\'s before types, no after-hook');

  // The same route with a user is policy-checked to hooks as well (mutation 18).
  from = service.requests.length;
  await scenario.viaGateway('bob', 'POST', ban, { body: { user_id: `@nobody-mutation-18:${scenario.hs.serverName}` } });
  t.same(consultedSince(from).slice(0, 3), ['beforeAnyRequest', 'beforeAuthenticatedRequest', 'beforeAuthenticatedPolicyCheckedRequest'], 'with a user: the policy-checked before types');
});

t.test('login', async (t) => {
  const types = ['beforeAnyRequest', 'beforeAuthenticatedRequest', 'beforeUnauthenticatedRequest', 'beforeAuthenticatedPolicyCheckedRequest', 'afterAnyRequest', 'afterAuthenticatedRequest', 'afterUnauthenticatedRequest', 'afterAuthenticatedPolicyCheckedRequest'];
  await scenario.setHooks([
    ...types.map((eventType) => ({ ...consult(eventType, eventType), routeMatchesRegex: '/login$' })),
    { id: 'amend', eventType: 'afterUnauthenticatedRequest', routeMatchesRegex: '/login$', action: 'pass.modifiedResponse', injectJSONIntoResponse: { amended: true } },
  ]);
  const path = '/_matrix/client/v3/login';
  let from = service.requests.length;
  const ok = await scenario.viaGateway(null, 'POST', path, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'alice-pw' } });
  t.equal(ok.status, 200, ok.text);
  t.match(ok.json, { user_id: users.alice.userId, amended: true });
  t.same(consultedSince(from), ['beforeAnyRequest', 'beforeUnauthenticatedRequest', 'afterAnyRequest', 'afterUnauthenticatedRequest']);

  from = service.requests.length;
  const refused = await scenario.viaGateway(null, 'POST', path, { body: { type: 'org.matrix.login.jwt', token: 'x' } });
  t.equal(refused.status, 403, 'login interception refuses the type');
  t.match(refused.json, { errcode: 'M_FORBIDDEN' });
  t.same(consultedSince(from), ['beforeAnyRequest', 'beforeUnauthenticatedRequest'], 'a refused login runs no after-hook');
});
