import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import { startSynapse } from '../../support/start-synapse.js';
import { login, passwordLoginBody, registerUser } from '../../support/matrix-client.js';
import { startGateway } from './fixtures/gateway-harness.js';
import { startCountingProxy, startHttpUpstream } from './fixtures/http-upstream.js';

/**
 * The token → identity cache, observed at the wire: every whoami the gateway sends is counted by
 * the upstream (a fake one that answers whoami slowly, or a counting proxy in front of Synapse).
 */

const WHOAMI = '/_matrix/client/v3/account/whoami';

t.test('single-flight, negative entries and failures, against a counting fake upstream', async (t) => {
  const whoamiCalls: Array<{ authorization: string | undefined; query: string }> = [];
  const upstream = await startHttpUpstream((req, res) => {
    const [path, query = ''] = (req.url ?? '').split('?');
    req.resume();
    if (path !== WHOAMI) {
      res.end('{}');
      return;
    }
    whoamiCalls.push({ authorization: req.headers.authorization, query });
    const token = req.headers.authorization?.slice('Bearer '.length) ?? '';
    // Slow enough that all concurrent requests arrive while the first look-up is in flight.
    setTimeout(() => {
      if (token.startsWith('good')) {
        const masquerade = new URLSearchParams(query).get('user_id');
        res.end(JSON.stringify({ user_id: masquerade ?? `@${token}:localhost`, device_id: 'D' }));
      } else if (token.startsWith('broken')) {
        res.statusCode = 500;
        res.end('{"errcode":"M_UNKNOWN","error":"boom"}');
      } else {
        res.statusCode = 401;
        res.end('{"errcode":"M_UNKNOWN_TOKEN","error":"Unknown access token"}');
      }
    }, 300);
  });
  t.teardown(() => upstream.close());
  // One thread: each thread has its own cache, so "one whoami" is per thread.
  const gw = await startGateway({ upstream: upstream.url, threads: 1 });
  t.teardown(() => gw.stop());
  const agent = new Agent({ connections: 1000, pipelining: 1 });
  t.teardown(() => agent.close());
  const callsFor = (token: string): number => whoamiCalls.filter((call) => call.authorization === `Bearer ${token}`).length;
  const burst = async (count: number, token: string, query = ''): Promise<number[]> => Promise.all(
    Array.from({ length: count }, async () => {
      const response = await request(`${gw.baseUrl}/_matrix/client/v3/joined_rooms${query}`, { dispatcher: agent, headers: { authorization: `Bearer ${token}` } });
      await response.body.dump();
      return response.statusCode;
    }),
  );

  const statuses = await burst(1000, 'good-fresh');
  t.equal(statuses.filter((status) => status === 200).length, 1000, 'all 1,000 requests were proxied');
  t.equal(callsFor('good-fresh'), 1, '1,000 concurrent requests with one new token: one whoami');
  await burst(50, 'good-fresh');
  t.equal(callsFor('good-fresh'), 1, 'then served from the cache');

  await burst(200, 'unknown-token');
  await burst(20, 'unknown-token');
  t.equal(callsFor('unknown-token'), 1, 'M_UNKNOWN_TOKEN is cached as a negative entry');

  for (let i = 0; i < 3; i++) await burst(1, 'broken-token');
  t.equal(callsFor('broken-token'), 3, 'failed look-ups are not cached');

  await burst(10, 'good-appservice', '?user_id=%40bridged%3Alocalhost');
  await burst(10, 'good-appservice');
  const appservice = whoamiCalls.filter((call) => call.authorization === 'Bearer good-appservice');
  t.same(appservice.map((call) => call.query).sort(), ['', 'user_id=%40bridged%3Alocalhost'],
    'a masquerading request is resolved with its user_id, separately from the plain token');

  await burst(3, 'good-q', '');
  const viaQuery = await request(`${gw.baseUrl}/_matrix/client/v3/joined_rooms?access_token=good-q`, { dispatcher: agent });
  await viaQuery.body.dump();
  t.equal(callsFor('good-q'), 1, 'a header token and the same query token share one entry');
});

/** A real Synapse with a registered `localpart`, a counting proxy in front of it, and a gateway of `threads` in front of that. */
async function countedGateway(t: Test, threads: number, localpart: string) {
  const hs = await startSynapse();
  t.teardown(() => hs.stop());
  const proxy = await startCountingProxy(hs.baseUrl);
  t.teardown(() => proxy.close());
  const gw = await startGateway({ upstream: proxy.url, threads });
  t.teardown(() => gw.stop());
  await registerUser(hs, { localpart, password: `${localpart}-password` });
  /** The whoami calls that reached Synapse with `token`. */
  const whoamisOf = (token: string): number => proxy.authorizationsOf(WHOAMI).filter((value) => value === `Bearer ${token}`).length;
  return { hs, gw, whoamisOf };
}

t.test('logout evicts the token in every thread; logout/all every token of the user', async (t) => {
  const { hs, gw, whoamisOf } = await countedGateway(t, 2, 'bob');

  /**
   * Sends requests with `token`, each on a new connection (the kernel spreads connections over
   * both threads), until the gateway has sent `target` whoami calls for it. Each thread looks a
   * token up once and then caches it, so 2 calls mean both threads hold an entry.
   */
  const driveUntilWhoamis = async (token: string, target: number): Promise<number[]> => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 300 && whoamisOf(token) < target; attempt++) {
      const response = await request(`${gw.baseUrl}/_matrix/client/v3/joined_rooms`, { headers: { authorization: `Bearer ${token}` }, reset: true });
      await response.body.dump();
      statuses.push(response.statusCode);
    }
    return statuses;
  };

  const session = await login(hs.baseUrl, passwordLoginBody('bob', 'bob-password'));
  await driveUntilWhoamis(session.accessToken, 2);
  t.equal(whoamisOf(session.accessToken), 2, 'both threads cached the token');
  await driveUntilWhoamis(session.accessToken, 3);
  t.equal(whoamisOf(session.accessToken), 2, 'and serve it from their caches');

  const logout = await request(`${gw.baseUrl}/_matrix/client/v3/logout`, { method: 'POST', headers: { authorization: `Bearer ${session.accessToken}` }, body: '{}' });
  await logout.body.dump();
  t.equal(logout.statusCode, 200);
  const after = await driveUntilWhoamis(session.accessToken, 4);
  t.equal(whoamisOf(session.accessToken), 4, 'after logout both threads had to look the token up again');
  t.ok(after.every((status) => status === 401), 'and Synapse rejected it');

  const first = await login(hs.baseUrl, passwordLoginBody('bob', 'bob-password'));
  const second = await login(hs.baseUrl, passwordLoginBody('bob', 'bob-password'));
  await driveUntilWhoamis(first.accessToken, 2);
  await driveUntilWhoamis(second.accessToken, 2);
  t.equal(whoamisOf(second.accessToken), 2, 'both threads cached the second session too');
  const logoutAll = await request(`${gw.baseUrl}/_matrix/client/v3/logout/all`, { method: 'POST', headers: { authorization: `Bearer ${first.accessToken}` }, body: '{}' });
  await logoutAll.body.dump();
  t.equal(logoutAll.statusCode, 200);
  await driveUntilWhoamis(second.accessToken, 4);
  t.equal(whoamisOf(second.accessToken), 4, 'logout/all with one token evicted the other token of the user in both threads');

  // Deleting another device of the user revokes that device's token: it is evicted too.
  const third = await login(hs.baseUrl, passwordLoginBody('bob', 'bob-password'));
  const fourth = await login(hs.baseUrl, passwordLoginBody('bob', 'bob-password'));
  await driveUntilWhoamis(fourth.accessToken, 2);
  t.equal(whoamisOf(fourth.accessToken), 2, 'both threads cached the fourth session');
  const deleteDevice = async (body: unknown) => {
    const response = await request(`${gw.baseUrl}/_matrix/client/v3/devices/${encodeURIComponent(fourth.deviceId)}`, {
      method: 'DELETE', headers: { authorization: `Bearer ${third.accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    return { status: response.statusCode, json: (await response.body.json()) as { session?: string } };
  };
  const challenge = await deleteDevice({});
  t.equal(challenge.status, 401, 'UIA first (a refusal evicts nothing)');
  const deleted = await deleteDevice({ auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: 'bob-password', session: challenge.json.session } });
  t.equal(deleted.status, 200, 'the device is deleted');
  const afterDeletion = await driveUntilWhoamis(fourth.accessToken, 4);
  t.equal(whoamisOf(fourth.accessToken), 4, 'its token was evicted in both threads');
  t.ok(afterDeletion.every((status) => status === 401), 'and Synapse rejects it');
});

t.test('a failed look-up fails closed where Corporal would act on the user, and only there', async (t) => {
  const received: string[] = [];
  const upstream = await startHttpUpstream((req, res) => {
    const [path = ''] = (req.url ?? '').split('?');
    req.resume();
    if (path === WHOAMI) {
      res.statusCode = 500; // every look-up fails: the token's user stays unknown
      res.end('{"errcode":"M_UNKNOWN","error":"boom"}');
      return;
    }
    // Only the client's requests (the control child's own calls carry no such token).
    if (req.headers.authorization === 'Bearer some-token') received.push(`${req.method} ${path}`);
    res.end('{}');
  });
  t.teardown(() => upstream.close());
  const policy = {
    schemaVersion: 2, flags: { allowUnauthenticatedPasswordResets: true }, managedRoomIds: [], users: [],
    hooks: [{
      id: 'members-only', eventType: 'beforeAuthenticatedRequest',
      matchRules: [{ type: 'method', regex: '^GET$' }, { type: 'route', regex: '/joined_rooms$' }],
      action: 'reject', responseStatusCode: 403, rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'hooked',
    }],
  };
  const gw = await startGateway({ upstream: upstream.url, threads: 1, policy });
  t.teardown(() => gw.stop());
  const send = async (method: string, path: string, body?: string): Promise<{ status: number; json: unknown; cors: string | undefined }> => {
    const response = await request(`${gw.baseUrl}${path}`, { method: method as 'GET', headers: { authorization: 'Bearer some-token', 'content-type': 'application/json' }, body });
    const text = await response.body.text();
    return { status: response.statusCode, json: text === '' ? null : JSON.parse(text), cors: response.headers['access-control-allow-origin'] as string | undefined };
  };

  const uia = await send('DELETE', '/_matrix/client/v3/devices/ABC', JSON.stringify({ auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'typed-policy-password' } }));
  t.equal(uia.status, 502, 'a UIA route is refused: the typed password could be a managed user\'s policy password');
  t.match(uia.json, { errcode: 'M_UNKNOWN' });
  t.equal(uia.cors, '*');
  const hooked = await send('GET', '/_matrix/client/v3/joined_rooms');
  t.equal(hooked.status, 502, 'a route an authenticated hook may fire for is refused, not proxied as unauthenticated');
  const reset = await send('POST', '/_matrix/client/v3/account/password', JSON.stringify({ new_password: 'new', logout_devices: false }));
  t.equal(reset.status, 502, 'a policy-checked route that also runs without a token is refused, not checked as a token-less password reset');
  t.same(received, [], 'none reached the homeserver');

  const plain = await send('POST', '/_matrix/client/v3/rooms/!r:localhost/read_markers', '{}');
  t.equal(plain.status, 200, 'any other request is proxied; the homeserver decides on the token');
  t.same(received, ['POST /_matrix/client/v3/rooms/!r:localhost/read_markers']);
});

t.test('a look-up that timed out is answered 504 at once, on every route but login: the request is not sent again', async (t) => {
  const received: string[] = [];
  const upstream = await startHttpUpstream((req, res) => {
    const [path = ''] = (req.url ?? '').split('?');
    if (path === WHOAMI) return; // a hung homeserver: the look-up never gets an answer
    req.resume();
    // Only the client's requests (the control child's own calls carry no such token).
    if (req.headers.authorization === 'Bearer never-answered') received.push(`${req.method} ${path}`);
    res.end(path.endsWith('/login') ? '{"user_id":"@unmanaged:localhost","access_token":"t","device_id":"D"}' : '{}');
  });
  t.teardown(() => upstream.close());
  const gw = await startGateway({ upstream: upstream.url, threads: 1, upstreamTimeoutMs: 300 });
  t.teardown(() => gw.stop());

  const response = await request(`${gw.baseUrl}/_matrix/client/v3/rooms/!r:localhost/read_markers`, {
    method: 'POST', headers: { authorization: 'Bearer never-answered', 'content-type': 'application/json' }, body: '{}',
  });
  const json: unknown = await response.body.json();
  t.equal(response.statusCode, 504, 'the look-up\'s timeout is the answer');
  t.match(json, { errcode: 'M_UNKNOWN', error: String });
  t.equal(response.headers['access-control-allow-origin'], '*');
  t.same(received, [], 'the request was not proxied to wait for the same homeserver once more');
  t.notMatch(JSON.stringify(json), /whoami|127\.0\.0\.1|\d{4,5}/, 'the client is told nothing of the homeserver');

  // Login does not use the identity (a token sent with it is Synapse's to check): proxied.
  const login = await request(`${gw.baseUrl}/_matrix/client/v3/login`, {
    method: 'POST', headers: { authorization: 'Bearer never-answered', 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'unmanaged' }, password: 'pw' }),
  });
  await login.body.dump();
  t.equal(login.statusCode, 200, 'a login is proxied whatever became of the look-up');
  t.same(received, ['POST /_matrix/client/v3/login']);
});

t.test('a login through the gateway seeds the thread\'s cache from Synapse\'s answer: no whoami for its token', async (t) => {
  const { gw, whoamisOf } = await countedGateway(t, 1, 'carol');
  const session = await login(gw.baseUrl, passwordLoginBody('carol', 'carol-password'));
  const response = await request(`${gw.baseUrl}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${session.accessToken}` } });
  t.equal(response.statusCode, 200);
  t.match(await response.body.json(), { user_id: session.userId });
  await request(`${gw.baseUrl}/_matrix/client/v3/joined_rooms`, { headers: { authorization: `Bearer ${session.accessToken}` } }).then((r) => r.body.dump());
  t.equal(whoamisOf(session.accessToken), 1,
    'only the client\'s own whoami reached Synapse: the gateway looked nothing up');
});
