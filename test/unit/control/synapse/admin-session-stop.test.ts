import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { ADMIN_SESSION_ERROR, AdminSession } from '../../../../src/control/synapse/admin-session.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import { json, startScriptedServer, type Script } from '../fixtures/scripted-server.js';

/**
 * A stopped admin session stays closed (quality review 16, #10): a call still in flight at
 * shutdown whose token Synapse refuses must not log in again and leave a session nobody logs out.
 */

const CORPORAL = '@corporal:example.com';
let loginDelayMs = 0;
let logins = 0;
const synapse: Script = (req, res) => {
  if (req.url === '/_matrix/client/v3/login') {
    const token = `admin-token-${++logins}`;
    setTimeout(() => json(200, { user_id: CORPORAL, access_token: token, device_id: 'corporal' })(req, res), loginDelayMs);
    return;
  }
  json(200, {})(req, res);
};
const server = await startScriptedServer(synapse);
t.teardown(() => server.close());
const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 5_000, connections: 2, logger: createSilentLogger() });
t.teardown(() => http.close());

function newSession(): AdminSession {
  return new AdminSession({ http, userId: CORPORAL, accessToken: null, authSharedSecret: 'secret', registrationSharedSecret: '', liftRateLimits: false, logger: createSilentLogger() });
}
const logouts = (): string[] => server.requests.filter((r) => r.url === '/_matrix/client/v3/logout').map((r) => r.authorization ?? '');

t.test('renew after stop refuses without logging in', async (t) => {
  server.requests.length = 0;
  logins = 0;
  const session = newSession();
  await session.stop();
  await t.rejects(session.renew('stale'), { code: ADMIN_SESSION_ERROR, message: /closed/ });
  t.equal(logins, 0);
});

t.test('a login in flight when the session stops is logged out as it arrives', async (t) => {
  server.requests.length = 0;
  logins = 0;
  loginDelayMs = 200;
  t.teardown(() => {
    loginDelayMs = 0;
  });
  const session = newSession();
  const renewed = session.renew('stale');
  await new Promise((resolve) => setTimeout(resolve, 50));
  await session.stop();
  await t.rejects(renewed, { code: ADMIN_SESSION_ERROR, message: /closed/ });
  t.same(logouts(), ['Bearer admin-token-1']);
  await t.rejects(session.token(), { code: ADMIN_SESSION_ERROR });
});
