import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { getUser } from '../../../../src/control/synapse/admin-users-api.js';
import { ADMIN_SESSION_ERROR, AdminSession, CONFIGURED_TOKEN_REFUSED } from '../../../../src/control/synapse/admin-session.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import { captureLogger } from '../../../support/control-plane.js';
import { json, startScriptedServer, type Script } from '../fixtures/scripted-server.js';

/**
 * A configured `Corporal.AccessToken` that Synapse refuses at runtime is never replaced by a login
 * (day-2 review 19, #3): every call fails naming the key, the refusal is logged once at error level,
 * without the token. A session Corporal opened itself still logs in again.
 */

const CORPORAL = '@corporal:example.com';
const CONFIGURED = 'syt_configured_SECRET-token';
let revoked = false;
const synapse: Script = (req, res) => {
  if (req.url === '/_matrix/client/v3/login' && req.method === 'GET') return json(200, { flows: [{ type: 'm.login.password' }] })(req, res);
  if (req.url === '/_matrix/client/v3/login') return json(200, { user_id: CORPORAL, access_token: 'logged-in-token', device_id: 'corporal' })(req, res);
  if (req.url === '/_matrix/client/v1/auth_metadata') return json(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' })(req, res);
  if (revoked && req.authorization === `Bearer ${CONFIGURED}`) return json(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown access token' })(req, res);
  if (req.url === '/_matrix/client/v3/account/whoami') return json(200, { user_id: CORPORAL })(req, res);
  if (req.url.startsWith('/_synapse/admin/v2/users/')) return json(200, { name: CORPORAL, admin: true })(req, res);
  json(200, {})(req, res);
};
const server = await startScriptedServer(synapse);
t.teardown(() => server.close());
const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 5_000, connections: 2, logger: createSilentLogger() });
t.teardown(() => http.close());
const logins = (): number => server.requests.filter((r) => r.method === 'POST' && r.url === '/_matrix/client/v3/login').length;

t.test('a configured token refused at runtime fails every call, logs once, never logs in', async (t) => {
  revoked = false;
  const { logger, lines, raw } = captureLogger('debug');
  const session = new AdminSession({ http, userId: CORPORAL, accessToken: CONFIGURED, authSharedSecret: 'secret', registrationSharedSecret: 'reg', liftRateLimits: false, logger });
  t.equal(await session.start(), 'access-token');
  revoked = true;
  const refused = { code: ADMIN_SESSION_ERROR, message: `admin session: ${CONFIGURED_TOKEN_REFUSED}` };
  await t.rejects(getUser(http, session, '@alice:example.com'), refused);
  await t.rejects(Promise.all([getUser(http, session, '@bob:example.com'), getUser(http, session, '@carol:example.com')]), refused, 'concurrent calls too');
  await t.rejects(getUser(http, session, '@dave:example.com'), refused, 'and every later call');
  t.equal(logins(), 0, 'no login with the derived password');
  t.equal(await session.token(), CONFIGURED, 'the configured token stays the session token');
  const errors = lines.filter((line) => line['level'] === 50);
  t.equal(errors.length, 1, 'one error line, not one per call');
  t.equal(errors[0]?.['msg'], CONFIGURED_TOKEN_REFUSED);
  t.notOk(lines.some((line) => line['level'] === 40 && /logging in again/.test(String(line['msg']))), 'no "logging in again" warning');
  t.notOk(raw.some((line) => line.includes(CONFIGURED)), 'the token is never logged');
  await session.stop();
  t.equal(server.requests.filter((r) => r.url === '/_matrix/client/v3/logout').length, 0, 'a configured token is never logged out');
});

t.test('without a configured token, a refused session token is still replaced by a login', async (t) => {
  revoked = false;
  server.requests.length = 0;
  const session = new AdminSession({ http, userId: CORPORAL, accessToken: null, authSharedSecret: 'secret', registrationSharedSecret: '', liftRateLimits: false, logger: createSilentLogger() });
  t.equal(await session.start(), 'login');
  t.equal(await session.renew('logged-in-token'), 'logged-in-token', 'a new login');
  t.equal(logins(), 2);
  await session.stop();
});
