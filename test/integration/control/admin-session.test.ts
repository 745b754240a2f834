import t from 'tap';
import { createSilentLogger } from '../../../src/common/logger.js';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { AccessTokenErrorCode, AccessTokens } from '../../../src/control/synapse/access-tokens.js';
import { getUser } from '../../../src/control/synapse/admin-users-api.js';
import { ADMIN_SESSION_ERROR, AdminSession, type AdminSessionOptions } from '../../../src/control/synapse/admin-session.js';
import { SynapseHttp } from '../../../src/control/synapse/synapse-http.js';
import { sharedSecretAuthPassword } from '../../support/matrix-hmac.js';
import { login, matrixCall, matrixRequest, passwordLoginBody, registerUser } from '../../support/matrix-client.js';
import { findFreePort } from '../../support/free-port.js';
import { startSynapse, startSynapseWithoutAdmin } from '../../support/start-synapse.js';
import { AUTH_SECRET, reconcilerConfig, snapshot } from './fixtures/reconciler.js';
import { planReconciliation } from '../../../src/control/plan/index.js';

const logger = createSilentLogger();

function sessionOptions(http: SynapseHttp, overrides: Partial<AdminSessionOptions> = {}): AdminSessionOptions {
  return { http, userId: '@corporal:localhost', accessToken: null, authSharedSecret: AUTH_SECRET, registrationSharedSecret: '', liftRateLimits: false, logger, ...overrides };
}

async function status(baseUrl: string, token: string): Promise<{ status: number; errcode: unknown }> {
  const answer = await matrixRequest(baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token });
  return { status: answer.status, errcode: (answer.json as { errcode?: unknown } | undefined)?.errcode };
}

t.test('stock Synapse: configured token, refusals, and an existing admin whose password is not derived', async (t) => {
  // The harness registers @corporal:localhost with a random password: not the derived one.
  const hs = await startSynapse();
  t.teardown(() => hs.stop());
  const http = new SynapseHttp({ baseUrl: hs.baseUrl, timeoutMs: 10_000, connections: 2, logger });
  t.teardown(() => http.close());

  const configured = new AdminSession(sessionOptions(http, { accessToken: hs.admin.accessToken, liftRateLimits: true }));
  t.equal(await configured.start(), 'access-token');
  t.equal(await configured.token(), hs.admin.accessToken);
  await configured.stop();
  t.same(await status(hs.baseUrl, hs.admin.accessToken), { status: 200, errcode: undefined }, 'a configured token is never logged out');

  await t.rejects(new AdminSession(sessionOptions(http, { accessToken: 'syt_not_a_token' })).start(), { code: ADMIN_SESSION_ERROR, message: /AccessToken was refused/ });
  const bob = await registerUser(hs, { localpart: 'bob', password: 'bob password' });
  await t.rejects(new AdminSession(sessionOptions(http, { accessToken: bob.accessToken })).start(), { code: ADMIN_SESSION_ERROR, message: /belongs to @bob:localhost/ });
  await t.rejects(new AdminSession(sessionOptions(http, { userId: bob.userId, accessToken: bob.accessToken })).start(), { code: ADMIN_SESSION_ERROR, message: /not a Synapse server admin/ });

  await t.rejects(new AdminSession(sessionOptions(http)).start(), { code: ADMIN_SESSION_ERROR, message: /RegistrationSharedSecret is empty/ }, 'no registration secret: nothing to fall back on');
  await t.rejects(
    new AdminSession(sessionOptions(http, { registrationSharedSecret: hs.registrationSharedSecret })).start(),
    { code: ADMIN_SESSION_ERROR, message: /exists but Synapse refused its derived password/ },
    'an existing account with another password is reported, never changed',
  );
  await login(hs.baseUrl, passwordLoginBody('@corporal:localhost', hs.admin.password));
});

t.test('stock Synapse: the session registers the admin, renews a token Synapse forgot, logs out on stop', async (t) => {
  const hs = await startSynapse({ adminLocalpart: 'harness' });
  t.teardown(() => hs.stop());
  const http = new SynapseHttp({ baseUrl: hs.baseUrl, timeoutMs: 10_000, connections: 2, logger });
  t.teardown(() => http.close());
  const session = new AdminSession(sessionOptions(http, { registrationSharedSecret: hs.registrationSharedSecret }));
  t.equal(await session.start(), 'registered');
  const first = await session.token();
  await matrixCall(hs.baseUrl, 'POST', '/_matrix/client/v3/logout', { token: first, body: {} });
  const self = await getUser(http, session, '@corporal:localhost');
  t.equal(self?.admin, true, 'the call succeeded after a re-login');
  const second = await session.token();
  t.not(second, first, 'a new token');
  await session.stop();
  t.same(await status(hs.baseUrl, second), { status: 401, errcode: 'M_UNKNOWN_TOKEN' }, 'the session Corporal opened is logged out on stop');

  const again = new AdminSession(sessionOptions(http, { registrationSharedSecret: hs.registrationSharedSecret }));
  t.equal(await again.start(), 'login', 'next start: the registered admin logs in with its derived password');
  await again.stop();
});

t.test("stock Synapse: a Corporal.UserID on another domain than Synapse's server_name is named as such", async (t) => {
  const hs = await startSynapse({ adminLocalpart: 'harness' });
  t.teardown(() => hs.stop());
  const http = new SynapseHttp({ baseUrl: hs.baseUrl, timeoutMs: 10_000, connections: 2, logger });
  t.teardown(() => http.close());
  const wrongDomain = sessionOptions(http, { userId: '@corporal:example.org', registrationSharedSecret: hs.registrationSharedSecret });
  await t.rejects(new AdminSession(wrongDomain).start(), {
    code: ADMIN_SESSION_ERROR,
    message: /created @corporal:localhost: Synapse's server_name is localhost, not example\.org; set Matrix\.HomeserverDomainName/,
  }, 'a fresh server: registration shows the server name');
  await t.rejects(new AdminSession(wrongDomain).start(), {
    code: ADMIN_SESSION_ERROR,
    message: /exists but Synapse refused its derived password.*if Synapse's server_name is not Matrix\.HomeserverDomainName/,
  }, 'the account exists: the domain is named as a possible cause');
});

t.test('stock Synapse: a registration refused for its MAC names Matrix.RegistrationSharedSecret', async (t) => {
  const hs = await startSynapse({ adminLocalpart: 'harness' });
  t.teardown(() => hs.stop());
  const http = new SynapseHttp({ baseUrl: hs.baseUrl, timeoutMs: 10_000, connections: 2, logger });
  t.teardown(() => http.close());
  await t.rejects(new AdminSession(sessionOptions(http, { registrationSharedSecret: 'not the secret' })).start(), {
    code: ADMIN_SESSION_ERROR,
    message: /registering @corporal:localhost failed: .*403.*: Matrix\.RegistrationSharedSecret is not Synapse's registration_shared_secret$/,
  });
});

t.test('Synapse under MAS: the session names the delegation before trying anything', async (t) => {
  // Synapse starts in MAS mode without MAS running: it asks MAS only when a token must be checked.
  const hs = await startSynapseWithoutAdmin({
    extraConfig: {
      matrix_authentication_service: { enabled: true, endpoint: `http://127.0.0.1:${await findFreePort()}/`, secret: 'corporal-test-mas-secret' },
      password_config: { enabled: false },
    },
  });
  t.teardown(() => hs.stop());
  const http = new SynapseHttp({ baseUrl: hs.baseUrl, timeoutMs: 10_000, connections: 2, logger });
  t.teardown(() => http.close());
  const mas = /^admin session: Synapse does not serve GET \/_matrix\/client\/v3\/login \(404 M_UNRECOGNIZED\): it delegates authentication to the Matrix Authentication Service/;

  await t.rejects(new AdminSession(sessionOptions(http, { registrationSharedSecret: hs.registrationSharedSecret })).start(), { code: ADMIN_SESSION_ERROR, message: mas }, 'logging in');
  await t.rejects(new AdminSession(sessionOptions(http, { accessToken: 'mas_personal_session_token' })).start(), { code: ADMIN_SESSION_ERROR, message: mas }, 'a configured token');
  t.equal(http.requestCount, 2, 'one probe each: no login, registration or whoami was tried');
  t.equal((await matrixRequest(hs.baseUrl, 'GET', '/_matrix/client/v3/login')).status, 404, 'what the probe saw');
});

t.test('token API', async (t) => {
  const hs = await startSynapse();
  t.teardown(() => hs.stop());
  const http = new SynapseHttp({ baseUrl: hs.baseUrl, timeoutMs: 10_000, connections: 2, logger });
  t.teardown(() => http.close());
  const bob = await registerUser(hs, { localpart: 'bob', password: 'bob password' });
  const tokens = new AccessTokens({ http, admin: hs.admin.accessToken, corporalUserId: '@corporal:localhost', authSharedSecret: AUTH_SECRET });

  const minted = await tokens.mintAccessToken(bob.userId, { deviceId: 'ignored', validitySeconds: 60 });
  t.same(await matrixCall(hs.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: minted }), { user_id: bob.userId, is_guest: false }, 'no device is created');
  await tokens.revokeAccessToken(minted);
  t.same(await status(hs.baseUrl, minted), { status: 401, errcode: 'M_UNKNOWN_TOKEN' });
  await tokens.revokeAccessToken(minted);
  t.pass('revoking an unknown token succeeds');
  await t.rejects(tokens.mintAccessToken('@nobody:localhost', { deviceId: 'd' }), { code: AccessTokenErrorCode.UserNotFound, status: 404, errcode: 'M_NOT_FOUND' });
  await matrixCall(hs.baseUrl, 'POST', `/_synapse/admin/v1/deactivate/${encodeURIComponent(bob.userId)}`, { token: hs.admin.accessToken, body: {} });
  await t.rejects(tokens.mintAccessToken(bob.userId, { deviceId: 'd' }), { code: AccessTokenErrorCode.UserDeactivated, errcode: 'M_USER_DEACTIVATED' });
});

t.test('shared-secret-auth module: the admin logs in with the derived password; managed users log in both ways', async (t) => {
  // The module accepts hex(HMAC-SHA512(secret, mxid)) although the account's real password is random.
  const hs = await startSynapse({ sharedSecretAuth: { sharedSecret: AUTH_SECRET } });
  t.teardown(() => hs.stop());
  const reconciler = await startReconciler({ config: reconcilerConfig(hs), planner: planReconciliation, logger });
  t.teardown(() => reconciler.close());
  const self = await reconciler.tokens.mintAccessToken('@corporal:localhost', { deviceId: 'CORPDEVICE' });
  t.same(await matrixCall(hs.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: self }), { user_id: '@corporal:localhost', device_id: 'CORPDEVICE', is_guest: false }, 'a token of the corporal user itself comes from a password login on the requested device');
  for (const deviceId of ['corporal', 'corporal-plan']) {
    await t.rejects(reconciler.tokens.mintAccessToken('@corporal:localhost', { deviceId }), { code: AccessTokenErrorCode.ReservedDevice, status: 400, errcode: 'M_INVALID_PARAM' },
      `red team 11 F4: not on Corporal's own device ${deviceId} (its logout would kill the token, and revoking the token would log Corporal out)`);
  }

  // Quality review 5, S4: with Corporal.AccessToken, the device of that token is Corporal's too.
  const operatorSession = await login(hs.baseUrl, { ...passwordLoginBody('@corporal:localhost', sharedSecretAuthPassword(AUTH_SECRET, '@corporal:localhost')), device_id: 'OPERATORDEV' });
  const withToken = await startReconciler({ config: reconcilerConfig(hs, { corporal: { AccessToken: operatorSession.accessToken } }), planner: planReconciliation, logger });
  t.teardown(() => withToken.close());
  await t.rejects(withToken.tokens.mintAccessToken('@corporal:localhost', { deviceId: 'OPERATORDEV' }), { code: AccessTokenErrorCode.ReservedDevice, status: 400 },
    "not on the device of the configured token (revoking the new token would delete the device, and Corporal's token with it)");
  const beside = await withToken.tokens.mintAccessToken('@corporal:localhost', { deviceId: 'BESIDE' });
  await withToken.tokens.revokeAccessToken(beside);
  t.same(await matrixCall(hs.baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: operatorSession.accessToken }), { user_id: '@corporal:localhost', device_id: 'OPERATORDEV', is_guest: false }, 'the configured token still works');

  const alice = '@alice:localhost';
  reconciler.loop.onPolicy(snapshot(1, [], [{ id: alice, displayName: 'Alice' }]), 'all');
  await reconciler.loop.idle();
  t.same(reconciler.loop.status().lastRun?.failures, []);
  const viaModule = await login(hs.baseUrl, { type: 'com.devture.shared_secret_auth', identifier: { type: 'm.id.user', user: alice }, token: sharedSecretAuthPassword(AUTH_SECRET, alice) });
  t.equal(viaModule.userId, alice, 'the module login type works');
  const viaPassword = await login(hs.baseUrl, passwordLoginBody(alice, sharedSecretAuthPassword(AUTH_SECRET, alice)));
  t.equal(viaPassword.userId, alice, 'm.login.password with the derived password works');
});
