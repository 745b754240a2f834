import t, { type Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigObject } from '../../../src/common/config/index.js';
import { Supervisor } from '../../../src/supervisor/supervisor.js';
import { findFreePort } from '../../support/free-port.js';
import { testConfigRaw } from '../../support/corporal-config.js';
import { captureLogger, TEST_DOMAIN, testPolicy, testPolicyText, waitFor } from '../../support/control-plane.js';
import { allThreadsAt, apiClient, type StatusBody } from '../../support/control-plane-api.js';

/**
 * A pushed policy is kept where Corporal promises (red-team 8, F5/F6/F10): a real supervisor,
 * gateway threads and control child, in this process so that the child can be SIGKILLed by pid.
 */
async function startSupervisor(t: Test, dir: string, provider: Record<string, unknown>) {
  const [gatewayPort, apiPort] = [await findFreePort(), await findFreePort()];
  const raw = testConfigRaw({ gatewayPort, apiPort, threads: 2, serverName: TEST_DOMAIN, policyCachePath: join(dir, 'unused.json') });
  raw['PolicyProvider'] = provider;
  raw['Misc'] = { ...raw['Misc'], LogLevel: 'warn' };
  const parsed = parseConfigObject(raw);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const supervisor = new Supervisor({
    config: parsed.config,
    configPath: join(dir, 'config.json'),
    logger: captureLogger('info').logger,
    restart: { initialMs: 100, maxMs: 500, stableAfterMs: 60_000, crashLoopThreshold: 10 },
  });
  t.teardown(() => supervisor.stop());
  await supervisor.start();
  return { supervisor, api: apiClient(apiPort) };
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-push-durability-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Kills the control child with SIGKILL and resolves with the status once its successor's API answers. */
async function killControlChild(supervisor: Supervisor, api: ReturnType<typeof apiClient>): Promise<StatusBody> {
  const pid = supervisor.control.pid!;
  process.kill(pid, 'SIGKILL');
  await waitFor('a new control child', () => supervisor.control.pid !== null && supervisor.control.pid !== pid);
  return api.statusWhenUp();
}

/** A policy (pretty JSON) whose second user is inactive: the deactivation a revert would undo. */
function deactivating(variant: string, users = 2): string {
  const policy = testPolicy(variant, users);
  (policy['users'] as Array<Record<string, unknown>>)[1]!['active'] = false;
  return `${JSON.stringify(policy, null, 2)}\n`;
}

t.test('last_seen_store_policy: leftovers removed at start; PUT answers once saved; a kill right after the 200 loses nothing', async (t) => {
  const dir = tempDir(t);
  const cachePath = join(dir, 'last-seen.json');
  const leftover = join(dir, '.last-seen.json.4194301.0123456789ab.tmp');
  const unrelated = [join(dir, '.last-seen.json.keep.tmp'), join(dir, '.other.json.4194301.0123456789ab.tmp')];
  for (const path of [leftover, ...unrelated]) writeFileSync(path, '{"leftover": true}', { mode: 0o600 });
  const { supervisor, api } = await startSupervisor(t, dir, { Type: 'last_seen_store_policy', CachePath: cachePath });
  await api.statusWhenUp();
  t.notOk(existsSync(leftover), "a crashed save's temporary file is removed at start");
  t.ok(unrelated.every((path) => existsSync(path)), 'files that only look alike are kept');

  // Large enough that the save takes a while after validation.
  const big = testPolicyText('big', 40_000);
  const put = await api.call('PUT', '/_matrix/corporal/policy', big);
  t.equal(put.status, 200);
  t.equal(readFileSync(cachePath, 'utf8'), big, 'the file holds the policy as soon as the 200 arrives');

  const next = testPolicyText('next', 40_000);
  t.equal((await api.call('PUT', '/_matrix/corporal/policy', next)).status, 200);
  const pid = supervisor.control.pid!;
  process.kill(pid, 'SIGKILL');
  t.equal(readFileSync(cachePath, 'utf8'), next, 'saved before the answer, so before the kill');
  await waitFor('a new control child', () => supervisor.control.pid !== null && supervisor.control.pid !== pid);
  const restored = await api.statusWhenUp();
  t.match(restored.policy, { generation: 2, identificationStamp: 'test-next', source: 'api' }, 'the acknowledged push is in force after the crash');
  t.ok(allThreadsAt(restored, 2), 'and enforced by every gateway thread');
});

t.test('last_seen_store_policy: a failed save is answered 500 (policy in force), and pushing it again retries the save', async (t) => {
  const dir = tempDir(t);
  // A directory that does not exist yet makes the save fail (chmod would not stop root).
  const cacheDir = join(dir, 'not-yet');
  const cachePath = join(cacheDir, 'last-seen.json');
  const { api } = await startSupervisor(t, dir, { Type: 'last_seen_store_policy', CachePath: cachePath });
  await api.statusWhenUp();

  const failed = await api.call('PUT', '/_matrix/corporal/policy', testPolicyText('a'));
  t.equal(failed.status, 500);
  t.match(failed.json, { errcode: 'M_UNKNOWN', error: /^Policy in force but not kept: cannot save the policy to .*push it again to retry\.$/, applied: true });
  const status = await api.status();
  t.match(status.policy, { generation: 1, identificationStamp: 'test-a' }, 'the policy is in force nevertheless');
  t.match(status.provider.lastError?.message, /cannot save the policy/);

  mkdirSync(cacheDir);
  const retried = await api.call('PUT', '/_matrix/corporal/policy', testPolicyText('a'));
  t.equal(retried.status, 200, 'the same policy again: the save is retried and succeeds');
  t.same(JSON.parse(readFileSync(cachePath, 'utf8')), testPolicy('a'));
  const after = await api.status();
  t.equal(after.provider.lastError, null, 'the error is cleared');
  t.equal(after.policy?.generation, 1, 'no new generation for the same policy');
});

t.test('static_file: a policy pushed before a control-child crash stays in force until reload or a file change', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'policy.json');
  writeFileSync(path, testPolicyText('file-1'));
  const { supervisor, api } = await startSupervisor(t, dir, { Type: 'static_file', Path: path });
  await api.statusWhenUp();
  await waitFor('the file policy everywhere', async () => allThreadsAt(await api.status(), 1));

  // Large, so that its snapshot takes many IPC writes: the kill comes right after the 200.
  const pushed = deactivating('pushed', 20_000);
  t.equal((await api.call('PUT', '/_matrix/corporal/policy', pushed)).status, 200);
  const restarted = await killControlChild(supervisor, api);
  t.match(restarted.policy, { generation: 2, identificationStamp: 'test-pushed', source: 'api' }, 'the push survives the crash, same generation');
  t.ok(allThreadsAt(restarted, 2), 'the gateway never left it');
  t.has(await api.getPolicy(), JSON.parse(pushed), 'the deactivation is still the policy in force (with defaults filled in)');

  t.equal((await api.call('POST', '/_matrix/corporal/policy/provider/reload')).status, 200);
  await waitFor('the reload to replace it', async () => (await api.status()).policy?.identificationStamp === 'test-file-1');
  t.match((await api.status()).policy, { generation: 3, source: `static_file:${path}` }, 'a reload replaces it, as matrix-corporal');

  t.equal((await api.call('PUT', '/_matrix/corporal/policy', deactivating('pushed-2'))).status, 200);
  const again = await killControlChild(supervisor, api);
  t.match(again.policy, { generation: 4, identificationStamp: 'test-pushed-2', source: 'api' });
  writeFileSync(join(dir, 'policy.json.new'), testPolicyText('file-2'));
  renameSync(join(dir, 'policy.json.new'), path);
  await waitFor('the file change everywhere', async () => allThreadsAt(await api.status(), 5));
  t.match((await api.status()).policy, { identificationStamp: 'test-file-2', source: `static_file:${path}` }, 'a file change replaces it');
});
