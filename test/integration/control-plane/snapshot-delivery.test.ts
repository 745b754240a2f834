import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../../support/free-port.js';
import { testConfig } from '../../support/corporal-config.js';
import { captureLogger, waitFor } from '../../support/control-plane.js';
import { TEST_DOMAIN } from '../../support/control-plane.js';
import { Supervisor } from '../../../src/supervisor/supervisor.js';
import { allThreadsAt, apiClient, type StatusBody } from '../../support/control-plane-api.js';

/** Pushes a policy and resolves with how long (ms) it took until every gateway thread enforced it. */
async function pushAndTimeDelivery(api: ReturnType<typeof apiClient>, variant: string, generation: number): Promise<number> {
  const startedAt = performance.now();
  const put = await api.putPolicy(variant);
  if (put.status !== 200) throw new Error(`PUT answered ${put.status}: ${JSON.stringify(put.body)}`);
  let status: StatusBody = await api.status();
  while (!allThreadsAt(status, generation)) {
    if (performance.now() - startedAt > 10_000) throw new Error(`generation ${generation} not applied: ${JSON.stringify(status.gateway)}`);
    status = await api.status();
  }
  return performance.now() - startedAt;
}

t.test('snapshot delivery through a real supervisor, gateway threads and control child', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-delivery-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const [gatewayPort, apiPort] = [await findFreePort(), await findFreePort()];
  const config = testConfig({ gatewayPort, apiPort, threads: 2, serverName: TEST_DOMAIN, policyCachePath: join(dir, 'last-seen.json') });
  const { logger } = captureLogger('info');
  const supervisor = new Supervisor({
    config,
    configPath: join(dir, 'config.json'),
    logger,
    faultInjection: true,
    restart: { initialMs: 100, maxMs: 500, stableAfterMs: 60_000, crashLoopThreshold: 10 },
  });
  t.teardown(() => supervisor.stop());
  await supervisor.start();
  const api = apiClient(apiPort);

  const initial = await api.statusWhenUp();
  t.equal(initial.policy, null, 'no policy yet');
  t.match(initial.gateway, { threadsAlive: 2, threadsConfigured: 2, snapshotGeneration: null });

  await t.test('a pushed policy is applied by every gateway thread within 1 s', async (t) => {
    for (const [variant, generation] of [['a', 1], ['b', 2]] as const) {
      const ms = await pushAndTimeDelivery(api, variant, generation);
      t.ok(ms < 1000, `generation ${generation} everywhere after ${ms.toFixed(0)} ms`);
    }
    t.equal(supervisor.snapshot?.generation, 2, 'the supervisor keeps the last snapshot');
  });

  await t.test('a restarted gateway thread enforces the current generation at once', async (t) => {
    supervisor.threads.injectFault(1);
    const observed: Array<{ alive: boolean; generation: number | null; restarts: number }> = [];
    await waitFor('thread 1 to come back', async () => {
      const status = await api.status();
      if ('error' in status.gateway) return false;
      const thread = status.gateway.threads[0]!;
      observed.push(thread);
      return thread.restarts >= 1 && thread.alive;
    });
    const restartedAlive = observed.filter((o) => o.restarts >= 1 && o.alive);
    t.ok(restartedAlive.length > 0);
    t.ok(restartedAlive.every((o) => o.generation === 2), 'from its first moment alive, it enforces generation 2');
    t.ok(allThreadsAt(await api.status(), 2));
  });

  await t.test('a killed control child restarts, restores the policy, and continues the generations', async (t) => {
    const firstPid = supervisor.control.pid!;
    process.kill(firstPid, 'SIGKILL');
    await waitFor('a new control child', () => supervisor.control.pid !== null && supervisor.control.pid !== firstPid);
    const restored = await api.statusWhenUp();
    // Pushed, so the supervisor kept it and hands it back: its source stays `api`.
    t.match(restored.policy, { generation: 2, identificationStamp: 'test-b', source: 'api' }, 'restored under the generation the gateway enforces');
    t.ok(allThreadsAt(restored, 2), 'the gateway kept enforcing it throughout');
    const ms = await pushAndTimeDelivery(api, 'c', 3);
    t.ok(ms < 1000, `the next policy has a higher generation (3) and is everywhere after ${ms.toFixed(0)} ms`);
  });

  await supervisor.stop();
});
