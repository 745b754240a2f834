import t from 'tap';
import { pause, testPolicy, unreachableReconcilerHost, waitFor, TEST_DOMAIN } from '../../support/control-plane.js';
import { compilePolicy } from '../../../src/policy/compile.js';
import { loadPolicyValue } from '../../../src/policy/load.js';

const INITIAL_MS = 20;
const MAX_MS = 80;

const unreachableHost = () => unreachableReconcilerHost({ retryMs: INITIAL_MS, retryMaxMs: MAX_MS });

t.test('Synapse unreachable: start attempts are retried with capped backoff, the error is reported, nothing throws', async (t) => {
  const { host, lines } = await unreachableHost();
  t.teardown(() => host.close());
  t.equal(host.status().state, 'starting');
  t.equal(host.unavailableReason(), 'the admin session is being opened');
  host.start();
  host.start();

  const loaded = loadPolicyValue(testPolicy('a'), { homeserverDomain: TEST_DOMAIN });
  if (!loaded.ok) throw new Error('test policy invalid');
  host.onPolicy(null, compilePolicy(loaded.document, { generation: 1, hash: 'h', loadedAt: 0, source: 'test' }));

  await waitFor('four failed attempts', () => host.status().failedAttempts >= 4);
  const status = host.status();
  t.match(status, { readyAt: null, loop: null, lastError: { message: /^admin session: .*cannot reach Synapse/ } });
  t.ok(['waiting', 'starting'].includes(status.state));
  t.equal(host.reconciler, null);
  t.match(host.unavailableReason(), /^the admin session could not be opened: admin session: /);
  if (status.state === 'waiting') {
    const expected = Math.min(MAX_MS, INITIAL_MS * 2 ** (status.failedAttempts - 1));
    t.equal(status.nextAttemptAt! - status.lastError!.at, expected, `attempt ${status.failedAttempts} waits ${expected} ms`);
  }
  const failures = lines.filter((line) => line['msg'] === 'reconciler cannot start (admin session); will retry');
  t.ok(failures.length >= 4, 'each failure is logged');
  t.same(failures.slice(0, 4).map((line) => line['retryInMs']), [20, 40, 80, 80], 'doubling, capped at RetryMaxIntervalMilliseconds');
  t.same(failures.slice(0, 4).map((line) => line['failedAttempts']), [1, 2, 3, 4]);
  t.equal(lines.filter((line) => (line['level'] as number) >= 60).length, 0, 'nothing fatal');
});

t.test('close stops the retries', async (t) => {
  const { host } = await unreachableHost();
  host.start();
  await waitFor('one failed attempt', () => host.status().failedAttempts >= 1);
  await host.close();
  await host.close();
  const attempts = host.status().failedAttempts;
  t.match(host.status(), { state: 'stopped', nextAttemptAt: null, loop: null });
  t.equal(host.unavailableReason(), 'the reconciler is stopped');
  await pause(4 * MAX_MS);
  t.equal(host.status().failedAttempts, attempts, 'no attempt after close');
  host.start();
  await pause(2 * MAX_MS);
  t.equal(host.status().failedAttempts, attempts, 'start after close does nothing');
});
