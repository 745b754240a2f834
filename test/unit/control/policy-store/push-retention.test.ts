import t from 'tap';
import { PolicyStore, type CurrentPolicy } from '../../../../src/control/policy-store.js';
import type { EncodedSnapshot, RetainedPolicy } from '../../../../src/common/ipc.js';
import { captureLogger, TEST_CORPORAL_USER_ID, TEST_DOMAIN, testPolicyText, testStore } from '../../../support/control-plane.js';

/** A store whose publish hands back what it sent and lets the test decide when the supervisor "holds" it. */
function deferredStore(inherited: ConstructorParameters<typeof PolicyStore>[0]['inherited'] = null) {
  const captured = captureLogger();
  const sent: Array<{ snapshot: EncodedSnapshot; retained: RetainedPolicy; ack: (err?: Error) => void }> = [];
  const store = new PolicyStore({
    homeserverDomain: TEST_DOMAIN,
    corporalUserId: TEST_CORPORAL_USER_ID,
    logger: captured.logger,
    inherited,
    publish: (snapshot, retained) => new Promise<void>((resolve, reject) => {
      sent.push({ snapshot, retained, ack: (err) => (err ? reject(err) : resolve()) });
    }),
  });
  return { store, sent, lines: captured.lines, raw: captured.raw };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

t.test('set resolves only once the supervisor holds the snapshot; a push retains its text, a provider policy does not', async (t) => {
  const { store, sent } = deferredStore();
  let settled = false;
  const pushed = store.set({ text: testPolicyText('p') }, 'api').then((outcome) => { settled = true; return outcome; });
  await tick();
  t.equal(sent.length, 1);
  t.notOk(settled, 'not before the IPC write completed');
  t.equal(new TextDecoder().decode(sent[0]!.retained.pushedText!), testPolicyText('p'), 'the pushed text goes to the supervisor');
  t.match(sent[0]!.retained, { source: 'api', providerHash: null });
  sent[0]!.ack();
  t.match(await pushed, { kind: 'applied', notDurable: null });

  const fromFile = store.set({ text: testPolicyText('f') }, 'static_file:/p');
  await tick();
  t.match(sent[1]!.retained, { pushedText: null, source: 'static_file:/p', providerHash: store.current!.hash });
  sent[1]!.ack(new Error('channel closed'));
  const outcome = await fromFile;
  t.match(outcome, { kind: 'applied', notDurable: /the snapshot could not be handed to the supervisor: channel closed/ });
});

t.test('persisters are awaited in order, failures make the outcome not durable, and an unchanged policy retries them', async (t) => {
  const { store } = testStore();
  const saved: string[] = [];
  let fail = true;
  store.addPersister(async (policy: CurrentPolicy) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (fail) throw new Error('disk full');
    saved.push(policy.document.identificationStamp ?? '');
  });
  const first = await store.set({ text: testPolicyText('a') }, 'api');
  t.match(first, { kind: 'applied', notDurable: 'disk full' });
  t.equal(store.current?.document.identificationStamp, 'test-a', 'in force nevertheless');
  fail = false;
  const again = await store.set({ text: testPolicyText('a') }, 'api');
  t.match(again, { kind: 'unchanged', notDurable: null }, 'the same policy again retries the persister');
  await Promise.all(['b', 'c'].map((v) => store.set({ text: testPolicyText(v) }, 'api')));
  t.same(saved, ['test-a', 'test-b', 'test-c'], 'one at a time, in acceptance order');
});

t.test('a restarted child restores the pushed policy, holds back the provider’s old content, and lets new content through', async (t) => {
  const first = testStore();
  await first.store.set({ text: testPolicyText('file') }, 'static_file:/p');
  const fileHash = first.store.current!.hash;
  await first.store.set({ text: testPolicyText('pushed') }, 'api');
  const pushedHash = first.store.current!.hash;

  const inherited = { generation: 2, hash: pushedHash, pushedText: new TextEncoder().encode(testPolicyText('pushed')), source: 'api', providerHash: fileHash };
  const { store, published, lines } = testStore({ inherited });
  t.equal(await store.restoreInherited(), true);
  t.match(store.current, { generation: 2, source: 'api', hash: pushedHash });
  t.equal(published.length, 0, 'the gateway enforces it already: nothing re-sent');

  const held = await store.set({ text: testPolicyText('file') }, 'static_file:/p');
  t.match(held, { kind: 'held', providerHash: fileHash });
  t.equal(store.current?.hash, pushedHash, 'the provider’s unchanged content does not replace the push');
  t.ok(lines.some((l) => l.msg === 'provider policy unchanged since before the control-child restart; the pushed policy stays in force'));

  const changed = await store.set({ text: testPolicyText('file-2') }, 'static_file:/p');
  t.match(changed, { kind: 'applied', policy: { generation: 3, source: 'static_file:/p' } }, 'different content replaces it');
  t.equal((await store.set({ text: testPolicyText('file') }, 'static_file:/p')).kind, 'applied', 'and the hold is over');
});

t.test('a reload request ends the hold; nothing is restored without a pushed text', async (t) => {
  const file = testStore();
  await file.store.set({ text: testPolicyText('file') }, 'static_file:/p');
  const fileHash = file.store.current!.hash;
  const pushed = testStore();
  await pushed.store.set({ text: testPolicyText('pushed') }, 'api');

  const inherited = { generation: 5, hash: pushed.store.current!.hash, pushedText: new TextEncoder().encode(testPolicyText('pushed')), source: 'api', providerHash: fileHash };
  const { store } = testStore({ inherited });
  await store.restoreInherited();
  store.releaseHold();
  t.match(await store.set({ text: testPolicyText('file') }, 'static_file:/p'), { kind: 'applied', policy: { generation: 6 } });

  const plain = testStore({ inherited: { generation: 5, hash: fileHash, pushedText: null, source: 'static_file:/p', providerHash: fileHash } });
  t.equal(await plain.store.restoreInherited(), false, 'a provider policy is reloaded by its provider');
  t.equal(plain.store.current, null);
});

t.test('the pushed text is never logged', async (t) => {
  const { store, sent, raw } = deferredStore();
  const text = testPolicyText('secret').replaceAll('a'.repeat(64), 'b'.repeat(64));
  const outcome = store.set({ text }, 'api');
  await tick();
  sent[0]!.ack();
  await outcome;
  t.notOk(raw.some((line) => line.includes('b'.repeat(64))));
});

t.test('a save that hangs does not hold up the policies after it (quality review 4, S2)', async (t) => {
  const captured = captureLogger();
  const store = new PolicyStore({ homeserverDomain: TEST_DOMAIN, corporalUserId: TEST_CORPORAL_USER_ID, logger: captured.logger, inherited: null, publish: () => Promise.resolve(), durableWaitMs: 50 });
  // The store's deadline timer is unref'd (it must not keep a stopping process alive): keep this one alive.
  const alive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(alive));
  let hang = true;
  const saved: string[] = [];
  store.addPersister(async (policy: CurrentPolicy) => {
    if (hang) await new Promise(() => {});
    saved.push(policy.document.identificationStamp ?? '');
  });
  t.match(await store.set({ text: testPolicyText('stuck') }, 'api'), { kind: 'applied', notDurable: /the save is still not done after 50 ms/ }, 'answered at the deadline');
  hang = false;
  t.match(await store.set({ text: testPolicyText('next') }, 'api'), { kind: 'applied', notDurable: null }, 'the next policy is applied and saved');
  t.equal(store.current?.document.identificationStamp, 'test-next');
  t.same(saved, ['test-next']);
});
