import t from 'tap';
import { createAvatarDispatcher } from '../../../src/control/apply/avatar-source.js';
import { ReconcileLoop } from '../../../src/control/loop/reconcile-loop.js';
import { planReconciliation } from '../../../src/control/plan/index.js';
import { AdminSession } from '../../../src/control/synapse/admin-session.js';
import { SynapseHttp } from '../../../src/control/synapse/synapse-http.js';
import { captureLogger, waitFor } from '../../support/control-plane.js';
import { matrixRequest } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { AUTH_SECRET, reconcilerConfig, snapshot, startInterceptingProxy } from './fixtures/reconciler.js';

/**
 * Users that failed in one run are retried together, by one run (operator review 3, F3): a pass that
 * loses Synapse half-way through used to turn into one retry run per user, each with its own error
 * line and each replacing the last run in /status.
 */
t.test('users that failed together are retried by one run each time, until Synapse takes them', async (t) => {
  const hs = await startSynapse();
  t.teardown(() => hs.stop());
  let creating = 'refused';
  // A proxy in front of Synapse that refuses every user creation while `creating` is 'refused'.
  const proxy = await startInterceptingProxy(hs.baseUrl, (req, res) => {
    if (creating !== 'refused' || req.method !== 'PUT' || !req.url?.startsWith('/_synapse/admin/v2/users/%40u')) return false;
    req.resume();
    res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ errcode: 'M_UNKNOWN', error: 'Internal server error' }));
    return true;
  });
  t.teardown(() => proxy.close());

  const { logger, lines } = captureLogger('info');
  const http = new SynapseHttp({ baseUrl: proxy.url, timeoutMs: 10_000, connections: 4, logger });
  t.teardown(() => http.close());
  const session = new AdminSession({ http, userId: hs.admin.userId, accessToken: hs.admin.accessToken, authSharedSecret: AUTH_SECRET, registrationSharedSecret: '', liftRateLimits: false, logger });
  await session.start();
  const avatarDispatcher = createAvatarDispatcher(10_000);
  t.teardown(() => avatarDispatcher.close());
  // Jitter on every draw: with one draw per user, the six retries would fall due at six moments.
  let draws = 0;
  const loop = new ReconcileLoop({
    ctx: { http, admin: session, adminUserId: hs.admin.userId, authSharedSecret: AUTH_SECRET, avatarMaxBytes: 65536, avatarTimeoutMs: 10_000, avatarDispatcher, logger },
    reconciliation: reconcilerConfig(hs, { reconciliation: { RetryIntervalMilliseconds: 400, RetryMaxIntervalMilliseconds: 800 } }).Reconciliation,
    actionTimeoutMs: 30_000,
    planner: planReconciliation,
    logger,
    random: () => (draws++ % 7) / 7,
  });
  t.teardown(() => loop.stop());

  const userIds = Array.from({ length: 6 }, (_, i) => `@u${i}:localhost`);
  loop.onPolicy(snapshot(1, [], userIds.map((id) => ({ id }))), 'all');
  await loop.idle();
  t.match(loop.status().lastRun, { kind: 'full', outcome: 'completed', actionsFailed: 6 }, 'the pass failed for every user');

  const started = () => lines.filter((line) => line['msg'] === 'reconciliation run started');
  await waitFor('three retry runs', () => started().length >= 4, 20_000);
  // Between two runs: switched during one, it would take some users and not others, and the next
  // retry would rightly hold only those left (seen under load).
  await loop.idle();
  creating = 'allowed';
  await waitFor('every user created', async () => {
    const accounts = await Promise.all(userIds.map((id) => matrixRequest(hs.baseUrl, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(id)}`, { token: hs.admin.accessToken })));
    return accounts.every((account) => account.status === 200);
  }, 20_000);
  await waitFor('no retry left', () => loop.status().retries.length === 0 && !loop.status().running, 20_000);

  const retryRuns = started().slice(1);
  t.ok(retryRuns.length >= 3);
  for (const run of retryRuns) t.match(run, { kind: 'users', users: 6 }, 'each retry run takes the whole batch');
  t.match(loop.status().lastRun, { kind: 'users', outcome: 'completed', actionsFailed: 0, usersObserved: 6 });
  t.match(loop.status().lastFullRun, { kind: 'full', actionsFailed: 6 }, 'the failed pass is still shown as the last full pass');
});
