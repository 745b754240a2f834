import t from 'tap';
import { matrixCall, matrixRequest, whoami } from '../../support/matrix-client.js';
import { ACCOUNTS, CHECKED_ACCOUNTS, passwordLogin, postLogin, startLoginWorld } from '../../fixtures/login/login-world.js';

/**
 * Logins through the gateway into a Synapse with devture's shared-secret-auth module, as
 * matrix-corporal deployments run it. Checked users' Synapse passwords are random, so a session
 * can only come from the module accepting the derived password (its HMAC) that the gateway sends.
 * The reconciler cannot log in here and leaves the accounts alone.
 */
const world = await startLoginWorld(t, { sharedSecretAuth: true });
const { gw } = world;

t.test('every checked auth type ends with a working access token', async (t) => {
  for (const acct of CHECKED_ACCOUNTS) {
    const session = await matrixCall<{ user_id: string; access_token: string; device_id: string }>(gw.baseUrl, 'POST', '/_matrix/client/v3/login', {
      body: passwordLogin(acct.localpart.toUpperCase(), acct.password, { refresh_token: true }),
    });
    t.equal(session.user_id, acct.id, `${acct.authType}: logged in`);
    t.same(await whoami(gw.baseUrl, session.access_token), { userId: acct.id, deviceId: session.device_id }, `${acct.authType}: whoami through the gateway`);
  }
});

t.test('wrong passwords never reach the module', async (t) => {
  for (const acct of CHECKED_ACCOUNTS) {
    const answer = await postLogin(gw.baseUrl, passwordLogin(acct.id, 'wrong'));
    t.same([answer.status, answer.json], [403, { errcode: 'M_FORBIDDEN', error: 'Failed authentication' }], acct.authType ?? '');
  }
});

t.test('passthrough and unmanaged users still use their Synapse passwords', async (t) => {
  for (const acct of [ACCOUNTS.bob, ACCOUNTS.zed]) {
    const session = await matrixCall<{ access_token: string }>(gw.baseUrl, 'POST', '/_matrix/client/v3/login', { body: passwordLogin(acct.localpart, acct.password) });
    t.equal((await whoami(gw.baseUrl, session.access_token)).userId, acct.id);
  }
});

t.test('UIA with the module: a device deleted with the policy password', async (t) => {
  const first = await matrixCall<{ access_token: string; device_id: string }>(gw.baseUrl, 'POST', '/_matrix/client/v3/login', { body: passwordLogin('carol', 'carol-pw') });
  const second = await matrixCall<{ device_id: string }>(gw.baseUrl, 'POST', '/_matrix/client/v3/login', { body: passwordLogin('carol', 'carol-pw') });
  const path = `/_matrix/client/v3/devices/${encodeURIComponent(second.device_id)}`;
  const challenge = await matrixRequest(gw.baseUrl, 'DELETE', path, { token: first.access_token, body: {} });
  t.equal(challenge.status, 401);
  const session = (challenge.json as { session: string }).session;
  const done = await matrixRequest(gw.baseUrl, 'DELETE', path, {
    token: first.access_token,
    body: { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'carol' }, password: 'carol-pw', session } },
  });
  t.equal(done.status, 200, done.text);
});
