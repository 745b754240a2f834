import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSilentLogger } from '../../../src/common/logger.js';
import { createAvatarDispatcher } from '../../../src/control/apply/avatar-source.js';
import { ReconcileLoop } from '../../../src/control/loop/reconcile-loop.js';
import { AdminSession } from '../../../src/control/synapse/admin-session.js';
import { SynapseHttp } from '../../../src/control/synapse/synapse-http.js';
import { matrixCall } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { AUTH_SECRET, reconcilerConfig, snapshot, startInterceptingProxy } from './fixtures/reconciler.js';
import { planReconciliation } from '../../../src/control/plan/index.js';

t.test('an M_LIMIT_EXCEEDED answer is retried after the retry_after_ms Synapse asked for', async (t) => {
  const hs = await startSynapse();
  t.teardown(() => hs.stop());
  const seen: string[] = [];
  let injected = false;
  // A proxy in front of Synapse that answers the first user-creating PUT with a 429 itself.
  const proxy = await startInterceptingProxy(hs.baseUrl, (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (injected || req.method !== 'PUT' || !req.url?.startsWith('/_synapse/admin/v2/users/%40alice')) return false;
    injected = true;
    req.resume();
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '9' }).end(JSON.stringify({ errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 750 }));
    return true;
  });
  t.teardown(() => proxy.close());

  const logger = createSilentLogger();
  const waits: number[] = [];
  const http = new SynapseHttp({
    baseUrl: proxy.url,
    timeoutMs: 10_000,
    connections: 2,
    logger,
    sleep: async (ms, signal) => {
      waits.push(ms);
      await sleep(ms, undefined, { signal });
    },
  });
  t.teardown(() => http.close());
  const session = new AdminSession({ http, userId: hs.admin.userId, accessToken: hs.admin.accessToken, authSharedSecret: AUTH_SECRET, registrationSharedSecret: '', liftRateLimits: false, logger });
  await session.start();
  const avatarDispatcher = createAvatarDispatcher(10_000);
  t.teardown(() => avatarDispatcher.close());
  const loop = new ReconcileLoop({
    ctx: { http, admin: session, adminUserId: hs.admin.userId, authSharedSecret: AUTH_SECRET, avatarMaxBytes: 65536, avatarTimeoutMs: 10_000, avatarDispatcher, logger },
    reconciliation: reconcilerConfig(hs).Reconciliation,
    actionTimeoutMs: 60_000,
    planner: planReconciliation,
    logger,
  });
  t.teardown(() => loop.stop());

  loop.onPolicy(snapshot(1, [], [{ id: '@alice:localhost', displayName: 'Alice' }]), 'all');
  await loop.idle();
  const run = loop.status().lastRun;
  t.equal(run?.outcome, 'completed');
  t.same(run?.failures, []);
  t.same(waits, [750], 'waited exactly retry_after_ms (the body wins over Retry-After)');
  t.equal(seen.filter((line) => line.startsWith('PUT /_synapse/admin/v2/users/%40alice')).length, 3, 'the refused PUT was sent again (then the display name)');
  const alice = await matrixCall<{ displayname: string }>(hs.baseUrl, 'GET', '/_synapse/admin/v2/users/%40alice%3Alocalhost', { token: hs.admin.accessToken });
  t.equal(alice.displayname, 'Alice');
});
