import t, { type Test } from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LastSeenProvider } from '../../../../src/control/providers/last-seen-provider.js';
import { captureLogger, testPolicy, testPolicyText, testStore } from '../../../support/control-plane.js';

function setup(t: Test, dir = mkdtempSync(join(tmpdir(), 'corporal-last-seen-'))) {
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cachePath = join(dir, 'last-seen.json');
  const { logger, lines } = captureLogger();
  const { store, published } = testStore({ logger });
  const provider = new LastSeenProvider({ cachePath, store, logger });
  t.teardown(() => provider.stop());
  return { dir, cachePath, store, published, provider, lines };
}

t.test('no saved policy yet: starts without a policy, not an error', async (t) => {
  const { store, provider } = setup(t);
  await provider.start();
  t.equal(store.current, null);
  t.equal(provider.status().lastError, null);
});

t.test('operator review 19, finding 9: a CachePath in a missing directory is an error at start, which goes on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-last-seen-'));
  const { provider, store, lines } = setup(t, join(dir, 'nodir'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await provider.start();
  t.ok(lines.some((l) => l.level === 50 && l.key === 'PolicyProvider.CachePath' && l.cachePath === join(dir, 'nodir', 'last-seen.json')));
  t.equal(store.current, null);
  t.notOk(existsSync(join(dir, 'nodir')), 'nothing created');
});

t.test('every accepted policy is saved (private, atomically); a restart restores the last one', async (t) => {
  const { dir, cachePath, store, provider } = setup(t);
  await provider.start();
  await store.set({ text: testPolicyText('a') }, 'api');
  await store.set({ value: testPolicy('b') }, 'api');
  await store.set({ text: '{"schemaVersion": 2, "users": [' }, 'api');
  await provider.stop();
  t.same(JSON.parse(readFileSync(cachePath, 'utf8')), testPolicy('b'), 'the last accepted policy, not the refused one');
  t.equal(statSync(cachePath).mode & 0o777, 0o600);
  t.same(readdirSync(dir), ['last-seen.json'], 'no temporary files left behind');

  const next = setup(t, dir);
  await next.provider.start();
  t.equal(next.store.current?.document.identificationStamp, 'test-b');
  t.equal(next.store.current?.source, `last_seen_store_policy:${cachePath}`);
});

t.test('restoring does not write the file back; an unchanged push does not either', async (t) => {
  const { cachePath, store, provider } = setup(t);
  writeFileSync(cachePath, testPolicyText('a'), { mode: 0o600 });
  const before = statSync(cachePath);
  await provider.start();
  await store.set({ value: testPolicy('a') }, 'api');
  await provider.stop();
  const after = statSync(cachePath);
  t.equal(after.ino, before.ino, 'the file was not replaced');
  t.equal(readFileSync(cachePath, 'utf8'), testPolicyText('a'));
});

t.test('red team 11 F7: a saved policy readable by others is made private at start, without a rewrite', async (t) => {
  const { cachePath, store, provider, lines } = setup(t);
  writeFileSync(cachePath, testPolicyText('a'));
  chmodSync(cachePath, 0o644); // as a migration from matrix-corporal may leave it
  const before = statSync(cachePath);
  await provider.start();
  t.equal(store.current?.document.identificationStamp, testPolicy('a')['identificationStamp'], 'restored');
  t.equal(statSync(cachePath).mode & 0o777, 0o600);
  t.equal(statSync(cachePath).ino, before.ino, 'the same file');
  t.ok(lines.some((line) => line['msg'] === 'the saved policy was readable by others; its mode is now 0600' && line['was'] === '644'));
});

t.test('quick pushes are saved in acceptance order: the file ends with the last one', async (t) => {
  const { cachePath, store, provider } = setup(t);
  await provider.start();
  await Promise.all(['a', 'b', 'c', 'd', 'e'].map((v) => store.set({ text: testPolicyText(v, 300) }, 'api')));
  await provider.stop();
  t.equal(readFileSync(cachePath, 'utf8'), testPolicyText('e', 300));
});

t.test('an invalid saved policy: no policy, reported; a push replaces it', async (t) => {
  const { cachePath, store, provider } = setup(t);
  writeFileSync(cachePath, '{"schemaVersion": 3}');
  await provider.start();
  t.equal(store.current, null);
  t.match(provider.status().lastError?.message, /refused/);
  await store.set({ text: testPolicyText('a') }, 'api');
  await provider.stop();
  t.equal(readFileSync(cachePath, 'utf8'), testPolicyText('a'));
  t.equal(provider.status().lastError, null);
});

t.test('a save that fails is reported, and the policy still applies', async (t) => {
  const { dir, store, provider } = setup(t);
  const cachePath = join(dir, 'missing-dir', 'last-seen.json');
  const { logger, lines } = captureLogger();
  const broken = new LastSeenProvider({ cachePath, store, logger });
  await provider.stop();
  await broken.start();
  await store.set({ text: testPolicyText('a') }, 'api');
  await broken.stop();
  t.equal(store.current?.generation, 1);
  t.match(broken.status().lastError?.message, /cannot save the policy/);
  t.notOk(existsSync(cachePath));
  t.ok(lines.some((l) => l.level === 50 && /will not survive a restart/.test(String(l.msg))));
});

t.test('reload() is a logged no-op', async (t) => {
  const { store, provider, lines } = setup(t);
  await provider.start();
  await provider.reload();
  t.equal(store.current, null);
  t.ok(lines.some((l) => /ignoring reload/.test(String(l.msg))));
});

t.test('a policy accepted with trailing commas is saved as strict JSON (matrix-corporal must read it after a rollback)', async (t) => {
  const { cachePath, store, provider } = setup(t);
  await provider.start();
  const tolerant = testPolicyText('a').replace(/\}\s*$/, ',}');
  t.not(tolerant, testPolicyText('a'));
  t.equal((await store.set({ text: tolerant }, 'api')).kind, 'applied');
  await provider.stop();
  const saved = readFileSync(cachePath, 'utf8');
  t.doesNotThrow(() => JSON.parse(saved), 'the file is strict JSON');
  t.same(JSON.parse(saved), JSON.parse(testPolicyText('a')));
});

t.test('a failed save is reported to the pusher, and pushing the same policy again retries it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'corporal-last-seen-retry-'));
  const { store, provider } = setup(t, join(dir, 'not-yet'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await provider.start();
  const failed = await store.set({ text: testPolicyText('a') }, 'api');
  t.match(failed, { kind: 'applied', notDurable: /cannot save the policy to .*not-yet\/last-seen\.json/ });
  t.match(provider.status().lastError?.message, /cannot save the policy/);
  mkdirSync(join(dir, 'not-yet'));
  t.match(await store.set({ text: testPolicyText('a') }, 'api'), { kind: 'unchanged', notDurable: null });
  t.equal(readFileSync(join(dir, 'not-yet', 'last-seen.json'), 'utf8'), testPolicyText('a'));
  t.equal(provider.status().lastError, null);
});

t.test('after a control-child restart, the policy restored from the supervisor is saved instead of the file being read', async (t) => {
  const { dir, cachePath } = setup(t);
  writeFileSync(cachePath, testPolicyText('old'), { mode: 0o600 });
  writeFileSync(join(dir, '.last-seen.json.99999.0123456789ab.tmp'), 'leftover');
  const pushed = testStore();
  await pushed.store.set({ text: testPolicyText('pushed') }, 'api');
  const { logger } = captureLogger();
  const { store } = testStore({
    logger,
    inherited: { generation: 4, hash: pushed.store.current!.hash, pushedText: new TextEncoder().encode(testPolicyText('pushed')), source: 'api', providerHash: null },
  });
  await store.restoreInherited();
  const provider = new LastSeenProvider({ cachePath, store, logger });
  t.teardown(() => provider.stop());
  await provider.start();
  t.match(store.current, { generation: 4, source: 'api' }, 'the older file did not replace it');
  t.equal(readFileSync(cachePath, 'utf8'), testPolicyText('pushed'), 'the file now holds it');
  t.same(readdirSync(dir), ['last-seen.json'], 'the leftover of a crashed save is gone');
});
