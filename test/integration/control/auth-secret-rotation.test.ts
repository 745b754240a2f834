import t from 'tap';
import { startReconciler } from '../../../src/control/loop/create-reconciler.js';
import { planReconciliation } from '../../../src/control/plan/index.js';
import { ADMIN_SESSION_ERROR } from '../../../src/control/synapse/admin-session.js';
import { captureLogger } from '../../support/control-plane.js';
import { sharedSecretAuthPassword } from '../../support/matrix-hmac.js';
import { login, matrixCall, matrixRequest, passwordLoginBody } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { AUTH_SECRET, reconcilerConfig, snapshot } from './fixtures/reconciler.js';

/**
 * Day-2 review 19, #2: rotating `Matrix.AuthSharedSecret`. The admin's refused login names the
 * likely cause, and the runbook of docs/deployment.md ("Rotating Matrix.AuthSharedSecret") works as
 * written: re-key the admin through the admin API, restart, one `user.set_password` per user.
 */

const CORPORAL = '@corporal:localhost';
const ALICE = '@alice:localhost';
const NEW_SECRET = 'corporal-auth-shared-secret-rotated';

t.test('a changed AuthSharedSecret: the error names it, and the runbook recovers', async (t) => {
  const hs = await startSynapse({ adminLocalpart: 'harness' });
  t.teardown(() => hs.stop());
  const oldConfig = reconcilerConfig(hs);
  const first = await startReconciler({ config: oldConfig, planner: planReconciliation, logger: captureLogger('silent').logger });
  first.loop.onPolicy(snapshot(1, [], [{ id: ALICE }]), 'all');
  await first.loop.idle();
  t.same(first.loop.status().lastRun?.failures, [], 'alice exists with the old derived password');
  await first.close();

  const rotated = { ...oldConfig, Matrix: { ...oldConfig.Matrix, AuthSharedSecret: NEW_SECRET } };
  const hint = /if Matrix\.AuthSharedSecret was changed, the account still has the password derived from the old secret: see "Rotating Matrix\.AuthSharedSecret" in docs\/deployment\.md/;
  await t.rejects(startReconciler({ config: rotated, planner: planReconciliation, logger: captureLogger('silent').logger }),
    { code: ADMIN_SESSION_ERROR, message: /exists but Synapse refused its derived password/ }, 'with a registration secret');
  await t.rejects(startReconciler({ config: rotated, planner: planReconciliation, logger: captureLogger('silent').logger }), { message: hint });
  const noRegistration = { ...rotated, Matrix: { ...rotated.Matrix, RegistrationSharedSecret: '' } };
  await t.rejects(startReconciler({ config: noRegistration, planner: planReconciliation, logger: captureLogger('silent').logger }),
    { code: ADMIN_SESSION_ERROR, message: /RegistrationSharedSecret is empty/ }, 'without one');
  await t.rejects(startReconciler({ config: noRegistration, planner: planReconciliation, logger: captureLogger('silent').logger }), { message: hint });

  // The runbook: a session of the admin (old derived password) sets its new derived password.
  const rotation = await login(hs.baseUrl, { ...passwordLoginBody(CORPORAL, sharedSecretAuthPassword(AUTH_SECRET, CORPORAL)), device_id: 'rotation' });
  await matrixCall(hs.baseUrl, 'PUT', `/_synapse/admin/v2/users/${encodeURIComponent(CORPORAL)}`, {
    token: rotation.accessToken,
    body: { password: sharedSecretAuthPassword(NEW_SECRET, CORPORAL), logout_devices: false },
  });
  await matrixCall(hs.baseUrl, 'POST', '/_matrix/client/v3/logout', { token: rotation.accessToken, body: {} });

  const aliceLogin = await matrixRequest(hs.baseUrl, 'POST', '/_matrix/client/v3/login', { body: passwordLoginBody(ALICE, sharedSecretAuthPassword(NEW_SECRET, ALICE)) });
  t.equal(aliceLogin.status, 403, "until the reconciler re-keys alice, Synapse refuses the login the gateway would make for her");

  const { logger, lines } = captureLogger('info');
  const second = await startReconciler({ config: rotated, planner: planReconciliation, logger });
  t.teardown(() => second.close());
  second.loop.onPolicy(snapshot(1, [], [{ id: ALICE }]), 'all');
  await second.loop.idle();
  t.same(second.loop.status().lastRun?.failures, []);
  second.loop.onPolicy(snapshot(2, [], [{ id: ALICE, displayName: 'Alice' }]), 'all');
  await second.loop.idle();
  const done = lines.filter((line) => line['msg'] === 'reconciliation action done').map((line) => `${String(line['action'])} ${String(line['userId'])}`);
  t.same(done.filter((action) => action.startsWith('user.set_password')), [`user.set_password ${ALICE}`], 'one user.set_password per user, in the first pass only');
  t.equal((await login(hs.baseUrl, passwordLoginBody(ALICE, sharedSecretAuthPassword(NEW_SECRET, ALICE)))).userId, ALICE, 'alice has the new derived password');
});
