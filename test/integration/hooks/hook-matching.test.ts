import t from 'tap';
import { startHookScenario } from '../../support/hook-scenario.js';
import { matrixCall } from '../../support/matrix-client.js';

/**
 * Match rules against the forms Synapse executes, through Corporal's real gateway in front of a
 * real Synapse: a `route` rule sees the segments Synapse routes on (`%2F` inside a parameter adds
 * none), and a `^GET$` `method` rule covers HEAD (Synapse runs the GET handler for it).
 */

const scenario = await startHookScenario();
t.teardown(() => scenario.stop());
const { users, room, hs } = scenario;
const roomPath = `/_matrix/client/v3/rooms/${encodeURIComponent(room)}`;
const REJECTED = { errcode: 'M_FORBIDDEN', error: 'Rejected by a hook' };

/** The `body`s of the room's recent events of `type`, read at Synapse directly (as alice). */
async function roomBodies(type: string): Promise<string[]> {
  const page = await matrixCall<{ chunk: Array<{ type: string; content: { body?: string } }> }>(hs.baseUrl, 'GET', `${roomPath}/messages`, {
    token: users.alice.accessToken,
    query: { dir: 'b', limit: 100 },
  });
  return page.chunk.filter((event) => event.type === type).map((event) => event.content.body ?? '');
}

t.test('route rules: %2F in a txn id does not get past a rule pinning it to one segment', async (t) => {
  await scenario.setHooks([{
    id: 'no-messages', eventType: 'beforeAuthenticatedRequest', methodMatchesRegex: '^PUT$',
    routeMatchesRegex: '^/_matrix/client/(r0|v3)/rooms/[^/]+/send/m\\.room\\.message/[^/]+$',
    action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Rejected by a hook',
  }]);
  for (const txn of ['t1', 't%2F2', 't%2f3', 't%252F4', 'a%2Fb%2Fc']) {
    const answer = await scenario.viaGateway('bob', 'PUT', `${roomPath}/send/m.room.message/${txn}`, { body: { msgtype: 'm.text', body: `via txn ${txn}` } });
    t.same([answer.status, answer.json], [403, REJECTED], `txn ${txn}: rejected by the hook`);
  }
  const encodedType = await scenario.viaGateway('bob', 'PUT', `${roomPath}/send/m%2Eroom%2Emessage/t%2F5`, { body: { msgtype: 'm.text', body: 'via txn t%2F5' } });
  t.same([encodedType.status, encodedType.json], [403, REJECTED], 'an encoded event type is still decoded');
  const other = await scenario.viaGateway('bob', 'PUT', `${roomPath}/send/m.hooktest/t%2F6`, { body: { body: 'not a message' } });
  t.equal(other.status, 200, `another event type passes: ${other.text}`);
  t.same(await roomBodies('m.hooktest'), ['not a message'], 'the control event is in the room');
  t.same(await roomBodies('m.room.message'), [], 'no rejected message reached the room');
});

t.test('method rules: HEAD is matched as GET too', async (t) => {
  await scenario.setHooks([{
    id: 'no-history', eventType: 'beforeAuthenticatedRequest', methodMatchesRegex: '^GET$',
    routeMatchesRegex: '^/_matrix/client/(r0|v3)/rooms/[^/]+/messages$', action: 'reject', responseStatusCode: 451,
    rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Rejected by a hook',
  }, {
    id: 'head-only', eventType: 'beforeAuthenticatedRequest', methodMatchesRegex: '^HEAD$',
    routeMatchesRegex: '/joined_rooms$', action: 'reject', responseStatusCode: 452, rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Rejected by a hook',
  }]);
  const messages = `${roomPath}/messages?dir=b&limit=5`;
  const proxiedBefore = scenario.upstream.countOf(`${roomPath}/messages`);
  t.equal((await scenario.viaGateway('bob', 'GET', messages)).status, 451, 'GET: rejected');
  const head = await scenario.viaGateway('bob', 'HEAD', messages);
  t.equal(head.status, 451, 'HEAD: rejected by the ^GET$ rule');
  t.equal(head.text, '', 'without a body');
  t.equal(scenario.upstream.countOf(`${roomPath}/messages`), proxiedBefore, 'neither reached Synapse');
  t.equal((await scenario.viaGateway('bob', 'HEAD', '/_matrix/client/v3/joined_rooms')).status, 452, 'a ^HEAD$ rule still matches HEAD');
  t.equal((await scenario.viaGateway('bob', 'GET', '/_matrix/client/v3/joined_rooms')).status, 200, 'but not GET');
});

t.test('method rules: a consult hook for GET gets a HEAD request with its method as sent', async (t) => {
  await scenario.setHooks([{
    id: 'ask', eventType: 'beforeAuthenticatedRequest', methodMatchesRegex: '^GET$', routeMatchesRegex: '/joined_rooms$',
    action: 'consult.RESTServiceURL', RESTServiceURL: scenario.serviceHook('ask-head', { action: 'pass.unmodified' }),
  }]);
  const from = scenario.service.requests.length;
  t.equal((await scenario.viaGateway('bob', 'HEAD', '/_matrix/client/v3/joined_rooms')).status, 200);
  const calls = scenario.service.requests.slice(from);
  t.same(calls.map((call) => (call.json as { request: { method: string } }).request.method), ['HEAD'], 'consulted once, method HEAD');
});

t.test('route rules: a rule written for (r0|v3) holds under every prefix Synapse serves the endpoint at', async (t) => {
  await scenario.setHooks([{
    id: 'no-messages', eventType: 'beforeAuthenticatedRequest', methodMatchesRegex: '^PUT$',
    routeMatchesRegex: '^/_matrix/client/(r0|v3)/rooms/[^/]+/send/m\\.room\\.message/[^/]+$',
    action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Rejected by a hook',
  }, {
    id: 'no-logins', eventType: 'beforeUnauthenticatedRequest', methodMatchesRegex: '^POST$',
    routeMatchesRegex: '^/_matrix/client/v3/login$', action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Rejected by a hook',
  }, {
    id: 'only-v3-joined-rooms', eventType: 'beforeAuthenticatedRequest', methodMatchesRegex: '^GET$',
    matchRules: [{ type: 'route', regex: '^/_matrix/client/v3/joined_rooms$', invert: true }, { type: 'route', regex: '/joined_rooms$' }],
    action: 'reject', responseStatusCode: 453, rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Rejected by a hook',
  }]);
  const encodedRoom = encodeURIComponent(room);
  for (const prefix of ['v3', 'r0', 'unstable', 'api/v1']) {
    const answer = await scenario.viaGateway('bob', 'PUT', `/_matrix/client/${prefix}/rooms/${encodedRoom}/send/m.room.message/p-${prefix.replace('/', '-')}`,
      { body: { msgtype: 'm.text', body: `via ${prefix}` } });
    t.same([answer.status, answer.json], [403, REJECTED], `send under ${prefix}: rejected by the hook`);
    const login = await scenario.viaGateway(null, 'POST', `/_matrix/client/${prefix}/login`,
      { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: 'wrong' } });
    t.same([login.status, login.json], [403, REJECTED], `login under ${prefix}: rejected by the hook`);
    const joined = await scenario.viaGateway('bob', 'GET', `/_matrix/client/${prefix}/joined_rooms`);
    t.equal(joined.status, 200, `an inverted rule that names v3 excludes ${prefix} too: the same endpoint`);
  }
  const control = await scenario.viaGateway('bob', 'GET', '/_matrix/client/v3/elsewhere/joined_rooms');
  t.equal(control.status, 453, 'the inverted rule\'s hook does fire for another endpoint ending in /joined_rooms');
  t.same(await roomBodies('m.room.message'), [], 'no rejected message reached the room (read at Synapse)');
});

t.test('route rules: spellings are widened one way only, and vendor aliases are covered', async (t) => {
  await scenario.setHooks([{
    id: 'no-unstable', eventType: 'beforeAuthenticatedRequest', methodMatchesRegex: '^GET$', routeMatchesRegex: '^/_matrix/client/unstable/',
    action: 'reject', responseStatusCode: 454, rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Rejected by a hook',
  }, {
    id: 'no-legacy-media', eventType: 'beforeAnyRequest', routeMatchesRegex: '^/_matrix/media/',
    action: 'reject', responseStatusCode: 455, rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Rejected by a hook',
  }]);
  t.equal((await scenario.viaGateway('bob', 'GET', '/_matrix/client/unstable/joined_rooms')).status, 454, 'a rule aimed at unstable matches unstable');
  t.equal((await scenario.viaGateway('bob', 'GET', '/_matrix/client/v3/joined_rooms')).status, 200, 'but not the release spelling of the same endpoint');
  t.equal((await scenario.viaGateway('bob', 'GET', '/_matrix/media/v3/config')).status, 455, 'a rule aimed at the legacy media tree matches it');
  const authenticatedMedia = await scenario.viaGateway('bob', 'GET', '/_matrix/client/v1/media/config');
  t.equal(authenticatedMedia.status, 200, `but not authenticated media: ${authenticatedMedia.text}`);

  await scenario.setHooks([{
    id: 'no-previews', eventType: 'beforeAuthenticatedRequest', routeMatchesRegex: '^/_matrix/client/v1/room_summary/',
    action: 'reject', responseStatusCode: 456, rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Rejected by a hook',
  }]);
  const encodedRoom = encodeURIComponent(room);
  t.equal((await scenario.viaGateway('bob', 'GET', `/_matrix/client/v1/room_summary/${encodedRoom}`)).status, 456);
  for (const vendor of [`im.nheko.summary/summary/${encodedRoom}`, `im.nheko.summary/rooms/${encodedRoom}/summary`]) {
    const answer = await scenario.viaGateway('bob', 'GET', `/_matrix/client/unstable/${vendor}`);
    t.equal(answer.status, 456, `the vendor spelling ${vendor.split('/')[1]} is the same endpoint`);
  }
});

t.test('route rules: an inverted "stable API only" rule still catches vendor endpoints and their dot spellings', async (t) => {
  await scenario.setHooks([{
    id: 'stable-only', eventType: 'beforeAuthenticatedRequest',
    matchRules: [{ type: 'route', regex: '^/_matrix/(client/(r0|v3|v1)/|media/)', invert: true }],
    action: 'reject', responseStatusCode: 457, rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Rejected by a hook',
  }]);
  t.equal((await scenario.viaGateway('bob', 'GET', '/_matrix/client/v3/joined_rooms')).status, 200, 'a release path passes');
  t.equal((await scenario.viaGateway('bob', 'GET', '/_matrix/client/unstable/joined_rooms')).status, 200, 'and its unstable spelling (the same endpoint)');
  t.equal((await scenario.viaGateway('bob', 'GET', '/_matrix/client/unstable/org.matrix.msc4140/delayed_events')).status, 457, 'a vendor endpoint is caught');
  await scenario.setHooks([{
    id: 'no-sliding-sync', eventType: 'beforeAuthenticatedRequest', routeMatchesRegex: '^/_matrix/client/unstable/org\\.matrix\\.simplified_msc3575/sync$',
    action: 'reject', responseStatusCode: 458, rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Rejected by a hook',
  }]);
  for (const vendor of ['org.matrix.simplified_msc3575', 'org_matrix_simplified_msc3575', 'org/matrix/simplified_msc3575']) {
    t.equal((await scenario.viaGateway('bob', 'POST', `/_matrix/client/unstable/${vendor}/sync`, { body: {} })).status, 458, `${vendor}: the same servlet for Synapse`);
  }
});
