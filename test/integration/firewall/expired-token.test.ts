import t from 'tap';
import { matrixCall, matrixRequest, type MatrixResponse } from '../../support/matrix-client.js';
import { ACCOUNTS, passwordLogin, startLoginWorld } from '../../fixtures/login/login-world.js';

/**
 * Parity 18, P4: a managed user's refreshable access token, once expired, gets Synapse's own
 * answer on policy-checked routes (401 `M_UNKNOWN_TOKEN` "Access token has expired",
 * `soft_logout: true`: refresh, do not log in again), as on the proxied routes (`/sync`). Before,
 * those routes answered matrix-corporal's 403 "Failed mapping access token to user id", which a
 * client reads as a hard logout. A made-up token still gets that 403.
 */
const LIFETIME_MS = 3000;
const world = await startLoginWorld(t, { synapseConfig: { refreshable_access_token_lifetime: `${LIFETIME_MS / 1000}s` } });
const { gw, hs } = world;

const SOFT_LOGOUT = { errcode: 'M_UNKNOWN_TOKEN', error: 'Access token has expired', soft_logout: true };
const HARD_LOGOUT = { errcode: 'M_UNKNOWN_TOKEN', error: 'Failed mapping access token to user id' };

interface Session {
  access_token: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Policy-checked requests (room creation, the user's own display name, a message) with `token` at `baseUrl`. */
async function checkedRequests(baseUrl: string, token: string): Promise<Record<string, MatrixResponse>> {
  const displayName = `/_matrix/client/v3/profile/${encodeURIComponent(ACCOUNTS.alice.id)}/displayname`;
  return {
    createRoom: await matrixRequest(baseUrl, 'POST', '/_matrix/client/v3/createRoom', { token, body: {} }),
    displayName: await matrixRequest(baseUrl, 'PUT', displayName, { token, body: { displayname: 'alice (policy)' } }),
    send: await matrixRequest(baseUrl, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent('!nowhere:localhost')}/send/m.room.message/t1`, { token, body: { msgtype: 'm.text', body: 'hi' } }),
  };
}

t.test('an expired token is a soft logout on policy-checked routes; a refreshed one works', async (t) => {
  const login = await matrixCall<Session>(gw.baseUrl, 'POST', '/_matrix/client/v3/login', { body: passwordLogin('alice', ACCOUNTS.alice.password, { refresh_token: true }) });
  t.type(login.refresh_token, 'string', 'a managed user gets a refresh token');
  t.ok(login.expires_in_ms !== undefined && login.expires_in_ms <= LIFETIME_MS, `the token expires (${login.expires_in_ms} ms)`);
  // Asked at Synapse, not through the gateway: a whoami answer is cached for the whole
  // ExpirationTimeMilliseconds (whoami does not tell the expiry; only the login answer's seed is
  // bounded by it), so a thread that looked the fresh token up would still take it for alice.
  t.equal((await matrixRequest(hs.baseUrl, 'POST', '/_matrix/client/v3/createRoom', { token: login.access_token, body: {} })).status, 200, 'the fresh token works');

  await sleep(LIFETIME_MS + 500);
  // Twice: the second answer comes from the identity cache's negative entry.
  for (const round of ['looked up', 'cached']) {
    for (const [name, answer] of Object.entries(await checkedRequests(gw.baseUrl, login.access_token))) {
      t.equal(answer.status, 401, `${name} (${round}): 401`);
      t.same(answer.json, SOFT_LOGOUT, `${name} (${round}): Synapse's soft logout`);
      t.equal(answer.headers['access-control-allow-origin'], '*', `${name} (${round}): CORS headers`);
    }
  }
  const direct = await matrixRequest(hs.baseUrl, 'POST', '/_matrix/client/v3/createRoom', { token: login.access_token, body: {} });
  t.same([direct.status, direct.json], [401, SOFT_LOGOUT], 'what Synapse itself answers');
  const sync = await matrixRequest(gw.baseUrl, 'GET', '/_matrix/client/v3/sync', { token: login.access_token, query: { timeout: 0 } });
  t.same([sync.status, sync.json], [401, SOFT_LOGOUT], 'the same as on a proxied route');

  const refreshed = await matrixCall<Session>(gw.baseUrl, 'POST', '/_matrix/client/v3/refresh', { body: { refresh_token: login.refresh_token } });
  const afterRefresh = await matrixRequest(gw.baseUrl, 'POST', '/_matrix/client/v3/createRoom', { token: refreshed.access_token, body: {} });
  t.equal(afterRefresh.status, 200, `the refreshed token works (${afterRefresh.text.slice(0, 120)})`);
});

t.test('a token Synapse never issued keeps the 403', async (t) => {
  for (const [name, answer] of Object.entries(await checkedRequests(gw.baseUrl, 'syt_made_up_token'))) {
    t.equal(answer.status, 403, `${name}: 403`);
    t.same(answer.json, HARD_LOGOUT, `${name}: matrix-corporal's answer, no soft_logout`);
  }
});
