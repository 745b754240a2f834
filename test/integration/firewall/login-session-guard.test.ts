import t from 'tap';
import { matrixCall, whoami } from '../../support/matrix-client.js';
import { ACCOUNTS, deviceIds, passwordLogin, postLogin, startLoginWorld } from '../../fixtures/login/login-world.js';

/**
 * Logins Synapse authenticates itself (SSO-style `m.login.token`, 3PID) must not give an inactive
 * managed user a session: the gateway reads whom Synapse logged in, logs the new session out and
 * answers `M_USER_DEACTIVATED`. The reconciler cannot log in here (so it does not lock the
 * inactive accounts first, as it would in production): this is the window the check closes.
 */
const world = await startLoginWorld(t, { allow3pidLogin: true });
const { gw, hs } = world;

/** A fresh `m.login.token` for the owner of `accessToken`, minted at Synapse (`login/get_token`). */
async function loginToken(accessToken: string): Promise<string> {
  const minted = await matrixCall<{ login_token: string }>(hs.baseUrl, 'POST', '/_matrix/client/v1/login/get_token', { token: accessToken, body: {} });
  return minted.login_token;
}

t.test('token login: an active user gets a session, an inactive one does not', async (t) => {
  const alice = await matrixCall<{ user_id: string; access_token: string }>(gw.baseUrl, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.token', token: await loginToken(world.registered.alice.accessToken) },
  });
  t.equal((await whoami(gw.baseUrl, alice.access_token)).userId, ACCOUNTS.alice.id);

  const before = await deviceIds(hs, ACCOUNTS.dave.id);
  const dave = await postLogin(gw.baseUrl, { type: 'm.login.token', token: await loginToken(world.registered.dave.accessToken) });
  t.same([dave.status, dave.json], [403, { errcode: 'M_USER_DEACTIVATED', error: 'Deactivated in policy' }]);
  t.same(await deviceIds(hs, ACCOUNTS.dave.id), before, 'the session Synapse opened was logged out again');
});

t.test('3PID login allowed by the flag: passthrough users in, inactive users out', async (t) => {
  const bob = await matrixCall<{ access_token: string }>(gw.baseUrl, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'bob@example.org' }, password: 'bob-pw' },
  });
  t.equal((await whoami(gw.baseUrl, bob.access_token)).userId, ACCOUNTS.bob.id);

  const before = await deviceIds(hs, ACCOUNTS.ivy.id);
  for (const body of [
    { type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'ivy@example.org' }, password: 'ivy-pw' },
    { type: 'm.login.password', medium: 'email', address: 'IVY@example.org', password: 'ivy-pw', refresh_token: true },
  ]) {
    const ivy = await postLogin(gw.baseUrl, body);
    t.same([ivy.status, ivy.json], [403, { errcode: 'M_USER_DEACTIVATED', error: 'Deactivated in policy' }], JSON.stringify(body));
  }
  t.same(await deviceIds(hs, ACCOUNTS.ivy.id), before, 'no session of ivy survived');

  const wrong = await postLogin(gw.baseUrl, { type: 'm.login.password', medium: 'email', address: 'ivy@example.org', password: 'nope' });
  t.match([wrong.status, wrong.json], [403, { errcode: 'M_FORBIDDEN', error: 'Invalid username or password' }], "a failed 3PID login is Synapse's answer");
});

t.test('3PID login of a managed user with a stale Synapse password: refused, session logged out', async (t) => {
  // grace's Synapse password is set behind Corporal's back (or predates the policy); her policy
  // password is another one. Synapse accepts the stale password for her email.
  await matrixCall(hs.baseUrl, 'PUT', `/_synapse/admin/v2/users/${encodeURIComponent(ACCOUNTS.grace.id)}`, {
    token: hs.admin.accessToken,
    body: { password: 'grace-stale', logout_devices: false, threepids: [{ medium: 'email', address: 'grace@example.org' }] },
  });
  const body = { type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'grace@example.org' }, password: 'grace-stale' };
  const direct = await matrixCall<{ user_id: string; access_token: string }>(hs.baseUrl, 'POST', '/_matrix/client/v3/login', { body });
  t.equal(direct.user_id, ACCOUNTS.grace.id, 'premise: Synapse itself logs her in with the stale password');
  await matrixCall(hs.baseUrl, 'POST', '/_matrix/client/v3/logout', { token: direct.access_token, body: {} });

  const before = await deviceIds(hs, ACCOUNTS.grace.id);
  for (const attempt of [body, { type: 'm.login.password', medium: 'email', address: 'grace@example.org', password: 'grace-stale' }]) {
    const answer = await postLogin(gw.baseUrl, attempt);
    t.same([answer.status, answer.json], [403, { errcode: 'M_FORBIDDEN', error: 'Failed authentication' }], JSON.stringify(attempt));
  }
  t.same(await deviceIds(hs, ACCOUNTS.grace.id), before, 'no session of grace survived');
  const policyLogin = await postLogin(gw.baseUrl, { ...body, password: ACCOUNTS.grace.password });
  t.equal(policyLogin.status, 403, 'her policy password is not her Synapse password either: 3PID login is for passthrough and unmanaged users');
});

t.test('with the flag off, 3PID logins are refused before Synapse', async (t) => {
  await world.setAllow3pidLogin(false);
  const bob = await postLogin(gw.baseUrl, { type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'bob@example.org' }, password: 'bob-pw' });
  t.same([bob.status, bob.json], [403, { errcode: 'M_UNKNOWN', error: '3pid login requests are not allowed on this server' }]);
  const alice = await postLogin(gw.baseUrl, passwordLogin('alice', 'alice-pw'));
  t.equal(alice.status, 200, 'other logins are unaffected');
});
