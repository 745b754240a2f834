import t from 'tap';
import { ReconcilerHost } from '../../../src/control/reconciler-host.js';
import { ADMIN_SESSION_ERROR } from '../../../src/control/synapse/admin-session.js';
import { captureLogger, testStore, waitFor } from '../../support/control-plane.js';
import { sharedSecretAuthPassword } from '../../support/matrix-hmac.js';
import { login, matrixCall, passwordLoginBody, registerUser } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { statusBody } from '../../support/status-body.js';
import { AUTH_SECRET, reconcilerConfig, snapshot } from './fixtures/reconciler.js';

/**
 * Day-2 review 19, #3: a configured `Corporal.AccessToken` revoked while Corporal runs is not
 * replaced by a login with the derived password (which would work here: the admin has it). The next
 * run fails naming the key, Synapse gets no new session of the corporal user, and `/status` says why.
 */

const CORPORAL = '@corporal:localhost';

t.test('a configured token revoked at runtime fails the runs, opens no session, shows in /status', async (t) => {
  // A separate harness admin inspects Synapse; the corporal admin has its derived password.
  const hs = await startSynapse({ adminLocalpart: 'harness' });
  t.teardown(() => hs.stop());
  const derived = sharedSecretAuthPassword(AUTH_SECRET, CORPORAL);
  await registerUser(hs, { localpart: 'corporal', password: derived, admin: true });
  const ops = await login(hs.baseUrl, { ...passwordLoginBody(CORPORAL, derived), device_id: 'OPS' });
  const devices = async (): Promise<string[]> => {
    const answer = await matrixCall<{ devices: Array<{ device_id: string }> }>(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(CORPORAL)}/devices`, { token: hs.admin.accessToken });
    return answer.devices.map((device) => device.device_id).sort();
  };

  const { logger, lines, raw } = captureLogger('info');
  const host = new ReconcilerHost({ config: reconcilerConfig(hs, { corporal: { AccessToken: ops.accessToken } }), logger });
  t.teardown(() => host.close());
  host.start();
  await waitFor('the admin session', () => host.status().state === 'ready');
  const reconciler = host.reconciler!;
  reconciler.loop.onPolicy(snapshot(1, [], [{ id: '@alice:localhost' }]), 'all');
  await reconciler.loop.idle();
  t.equal(host.status().lastError, null, 'no error while the token works');
  t.same(reconciler.loop.status().lastRun?.failures, [], 'the first run works with the configured token');
  const before = await devices();
  t.ok(before.includes('OPS') && !before.includes('corporal'), 'the configured token is the only session Corporal uses');

  await matrixCall(hs.baseUrl, 'POST', '/_matrix/client/v3/logout', { token: ops.accessToken, body: {} });
  reconciler.loop.onPolicy(snapshot(2, [], [{ id: '@alice:localhost' }, { id: '@bob:localhost' }]), new Set(['@bob:localhost']));
  await reconciler.loop.idle();

  const lastRun = reconciler.loop.status().lastRun;
  const refused = /^admin session: Corporal\.AccessToken was refused by Synapse \(revoked or expired\): replace it in the configuration and restart$/;
  t.ok((lastRun?.failures.length ?? 0) > 0, 'the run failed');
  for (const failure of lastRun?.failures ?? []) {
    t.equal(failure.code, ADMIN_SESSION_ERROR);
    t.match(failure.error, refused);
  }
  t.same(await devices(), before.filter((device) => device !== 'OPS'), 'no new device: Corporal did not log in (the logout deleted OPS)');
  const bob = await matrixCall<{ users: unknown[] }>(hs.baseUrl, 'GET', '/_synapse/admin/v2/users?name=bob', { token: hs.admin.accessToken });
  t.same(bob.users, [], 'nothing was done');

  const { store } = testStore({ logger });
  const reconcilerShown = (await statusBody(host.status(), store, logger)).reconciler;
  const shown = reconcilerShown.lastRun as { failuresByCode: Record<string, number>; failures: Array<{ error: string }> };
  t.same(Object.keys(shown.failuresByCode), [ADMIN_SESSION_ERROR], '/status counts the failures under the admin-session code');
  t.match(shown.failures[0]?.error, refused, '/status shows the error');
  t.match(reconcilerShown, { state: 'ready', lastError: { message: refused, at: String } }, '/status names it as the reconciler\'s error');

  t.equal(lines.filter((line) => line['level'] === 50 && /^Corporal\.AccessToken was refused/.test(String(line['msg']))).length, 1, 'logged once at error level');
  t.notOk(raw.some((line) => line.includes(ops.accessToken)), 'the token is never logged');
});
