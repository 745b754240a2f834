import t, { type Test } from 'tap';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../../support/free-port.js';
import { testConfigRaw, type RawConfig } from '../../support/corporal-config.js';
import { ensureStopped, startCorporalProcess } from '../../support/corporal-process.js';
import { TEST_DOMAIN, testPolicy, testPolicyText, waitFor } from '../../support/control-plane.js';
import { allThreadsAt, apiClient } from '../../support/control-plane-api.js';

async function serve(t: Test, dir: string, provider: Record<string, unknown>) {
  const [gatewayPort, apiPort] = [await findFreePort(), await findFreePort()];
  const raw: RawConfig = testConfigRaw({ gatewayPort, apiPort, threads: 2, serverName: TEST_DOMAIN, policyCachePath: join(dir, 'unused.json') });
  // Replaced, not merged: provider keys are type-specific.
  raw['PolicyProvider'] = provider;
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(raw));
  const corporal = startCorporalProcess(['serve', '--config', configPath]);
  t.teardown(() => ensureStopped(corporal));
  return { corporal, api: apiClient(apiPort) };
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-serve-cp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('last_seen_store_policy: a pushed policy survives a restart of the whole serve process', async (t) => {
  const dir = tempDir(t);
  const provider = { Type: 'last_seen_store_policy', CachePath: join(dir, 'last-seen.json') };
  const first = await serve(t, dir, provider);
  t.equal((await first.api.statusWhenUp()).policy, null);
  t.equal((await first.api.putPolicy('pushed')).status, 200);
  await waitFor('delivery', async () => allThreadsAt(await first.api.status(), 1));
  first.corporal.process.kill('SIGTERM');
  t.equal(await first.corporal.exited, 0, 'clean exit');

  const second = await serve(t, dir, provider);
  const status = await second.api.statusWhenUp();
  t.match(status.policy, { generation: 1, identificationStamp: 'test-pushed', source: `last_seen_store_policy:${provider.CachePath}` });
  t.has(await second.api.getPolicy(), testPolicy('pushed'), 'the pushed policy (with defaults filled in)');
  await waitFor('the restored policy in every thread', async () => allThreadsAt(await second.api.status(), 1));
  second.corporal.process.kill('SIGTERM');
  t.equal(await second.corporal.exited, 0);
});

t.test('static_file: edits and replacements reach every gateway thread; a broken edit is reported', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'policy.json');
  writeFileSync(path, testPolicyText('v1'));
  const { corporal, api } = await serve(t, dir, { Type: 'static_file', Path: path });
  await api.statusWhenUp();
  await waitFor('v1 everywhere', async () => allThreadsAt(await api.status(), 1));

  writeFileSync(join(dir, 'policy.json.new'), testPolicyText('v2'));
  renameSync(join(dir, 'policy.json.new'), path);
  await waitFor('v2 everywhere', async () => allThreadsAt(await api.status(), 2));

  writeFileSync(path, '{"schemaVersion": 2, "users": [');
  await waitFor('the refusal to show', async () => (await api.status()).lastRejection !== null);
  const status = await api.status();
  t.match(status.policy, { generation: 2, identificationStamp: 'test-v2' }, 'the previous policy stays');
  t.match(status.provider.lastError?.message, /refused: 1:32/);

  writeFileSync(path, testPolicyText('v3'));
  await waitFor('v3 everywhere', async () => allThreadsAt(await api.status(), 3));
  corporal.process.kill('SIGTERM');
  t.equal(await corporal.exited, 0);
});

t.test('http: a remote that is down at start does not crash the child; the policy arrives once it is up', async (t) => {
  const dir = tempDir(t);
  let up = false;
  const remote = createServer((_req, res) => {
    if (!up) {
      res.writeHead(502).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(testPolicyText('remote'));
  });
  await new Promise<void>((resolve) => remote.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => remote.close(() => resolve())));
  const uri = `http://127.0.0.1:${(remote.address() as AddressInfo).port}/policy.json?secret=remote-query-secret`;
  const { corporal, api } = await serve(t, dir, {
    Type: 'http', Uri: uri, AuthorizationBearerToken: 'remote-bearer-secret', CachePath: join(dir, 'cache.json'), ReloadIntervalSeconds: 3600, TimeoutMilliseconds: null,
  });
  const down = await api.statusWhenUp();
  t.equal(down.policy, null, 'running without a policy');
  t.match(down.provider.lastError?.message, /unexpected HTTP status 502/);
  up = true;
  await waitFor('the remote policy everywhere', async () => allThreadsAt(await api.status(), 1), 15_000);
  t.notOk(corporal.logs.some((l) => l.msg === 'control child crashed' || l.supervised === 'control child'), 'the child never died');
  const logged = JSON.stringify(corporal.logs);
  t.notOk(logged.includes('remote-bearer-secret'), 'the provider token is never logged');
  t.notOk(logged.includes('remote-query-secret'), 'nor the URI query');
  corporal.process.kill('SIGTERM');
  t.equal(await corporal.exited, 0);
});

