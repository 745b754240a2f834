import t from 'tap';
import { decodeSnapshot } from '../../../../src/policy/transport.js';
import { describeRejection, type CurrentPolicy } from '../../../../src/control/policy-store.js';
import { testPolicy, testPolicyText, testStore } from '../../../support/control-plane.js';

t.test('a valid policy is applied: generation 1, compiled, encoded, published, listeners told', async (t) => {
  const { store, published } = testStore();
  const changes: Array<[CurrentPolicy | null, CurrentPolicy]> = [];
  store.onChange((previous, next) => changes.push([previous, next]));
  t.equal(store.current, null);

  const outcome = await store.set({ text: testPolicyText('a') }, 'test:a');
  t.equal(outcome.kind, 'applied');
  const current = store.current!;
  t.equal(current.generation, 1);
  t.equal(current.source, 'test:a');
  t.equal(current.text, testPolicyText('a'), 'the text is kept as received');
  t.equal(current.snapshot.generation, 1);
  t.equal(current.snapshot.users.size, 2);
  t.match(current.hash, /^[0-9a-f]{64}$/);
  t.equal(published.length, 1);
  t.equal(published[0]!.generation, 1);
  t.equal(published[0]!.hash, current.hash);
  const decoded = decodeSnapshot(published[0]!.bytes);
  t.equal(decoded.users.get('@user1:example.com')?.displayName, 'User 1 a', 'the published bytes decode to the policy');
  t.same(changes.map(([p, n]) => [p, n.generation]), [[null, 1]]);
  t.equal(store.generation, 1);
});

t.test('an invalid policy is refused: the old one stays, the error is recorded with every issue', async (t) => {
  const { store, published, lines } = testStore();
  let notified = 0;
  store.onChange(() => { notified += 1; });
  await store.set({ text: testPolicyText('a') }, 'test:a');
  const bad = testPolicy('b');
  (bad['users'] as Array<Record<string, unknown>>)[0]!['id'] = '@user0:elsewhere.org';
  (bad['users'] as Array<Record<string, unknown>>)[1]!['authCredential'] = 'not-hex';

  const outcome = await store.set({ value: bad }, 'test:b');
  t.equal(outcome.kind, 'invalid');
  if (outcome.kind !== 'invalid') return;
  t.equal(outcome.rejection.stage, 'validation');
  t.same(outcome.rejection.errors.map((e) => e.pointer), ['/users/0/id', '/users/1/authCredential']);
  t.match(describeRejection(outcome.rejection), /^\/users\/0\/id: .*not hosted on the managed homeserver domain.*\(and 1 more error\)$/);
  t.equal(store.current?.generation, 1, 'the previous policy stays in force');
  t.equal(store.lastRejection?.source, 'test:b');
  t.equal(published.length, 1, 'nothing new published');
  t.equal(notified, 1, 'listeners not told about a refused policy');
  t.ok(lines.some((l) => l.msg === 'policy refused; the current policy stays in force' && l.errorCount === 2));

  const syntax = await store.set({ text: '{"schemaVersion": 2,\n  "users": [}' }, 'test:c');
  t.equal(syntax.kind === 'invalid' && syntax.rejection.stage, 'syntax');
  t.match(store.lastRejection?.errors[0], { line: 2, column: 13 });

  await store.set({ text: testPolicyText('d') }, 'test:d');
  t.equal(store.lastRejection, null, 'an accepted policy clears the last rejection');
  t.equal(store.current?.generation, 2, 'refusals do not use up generations');
  t.notOk(lines.some((l) => l.msg === 'policy valid again; unchanged from the policy in force'), 'a new policy has its own log line');
});

t.test('a refusal before any policy says that none is in force (operator review 14)', async (t) => {
  const { store, lines } = testStore();
  await store.set({ text: '{"schemaVersion": 2,' }, 'test:a');
  t.ok(lines.some((l) => l.level === 50 && l.msg === 'policy refused; no policy is in force yet (the gateway answers 503)'));
  t.notOk(lines.some((l) => l.msg === 'policy refused; the current policy stays in force'));
});

t.test('operator review 19, finding 6: a refusal of the only copy a restart would load says that a restart would start without a policy', async (t) => {
  const { store, lines } = testStore();
  await store.set({ text: '{"schemaVersion": 2,' }, 'test:file', { restartLoadsThis: true });
  t.ok(lines.some((l) => l.msg === 'policy refused; no policy is in force yet (the gateway answers 503)'), 'before any policy: nothing to lose');
  await store.set({ text: testPolicyText('a') }, 'test:file', { restartLoadsThis: true });
  await store.set({ text: '{"schemaVersion": 2,' }, 'test:file', { restartLoadsThis: true });
  t.ok(lines.some((l) => l.level === 50
    && l.msg === 'policy refused; the current policy stays in force, but a restart now would start without a policy (the gateway would answer 503)'));
  await store.set({ text: '{"schemaVersion": 2,' }, 'api');
  t.equal(lines.filter((l) => l.msg === 'policy refused; the current policy stays in force').length, 1, 'without the option: as before');
});

t.test('operator review 19, finding 11: policy applied, refused and valid again carry identificationStamp when there is one', async (t) => {
  const { store, lines } = testStore();
  const last = (msg: string) => lines.filter((l) => String(l.msg).startsWith(msg)).at(-1);
  await store.set({ text: testPolicyText('a') }, 'test:a');
  t.equal(last('policy applied')?.identificationStamp, 'test-a');
  const bad = testPolicy('b');
  (bad['users'] as Array<Record<string, unknown>>)[0]!['id'] = '@user0:elsewhere.org';
  await store.set({ value: bad }, 'test:b');
  t.equal(last('policy refused')?.identificationStamp, 'test-b', 'the refused policy\'s stamp');
  await store.set({ text: '{"schemaVersion": 2,' }, 'test:c');
  t.notOk('identificationStamp' in last('policy refused')!, 'a syntax error has no stamp');
  await store.set({ text: testPolicyText('a') }, 'test:a');
  t.equal(last('policy valid again')?.identificationStamp, 'test-a');
  await store.set({ value: { ...testPolicy('d'), identificationStamp: null } }, 'test:d');
  t.notOk('identificationStamp' in last('policy applied')!, 'no field without a stamp');
  await store.set({ value: { ...testPolicy('e'), identificationStamp: 'v'.repeat(100_000) } }, 'test:e');
  t.equal(last('policy applied')?.identificationStamp, `${'v'.repeat(200)}…`, 'a long stamp is cut in the log');
});

t.test('the policy in force offered again after a refusal clears it and says so (operator review 14)', async (t) => {
  const { store, lines } = testStore();
  await store.set({ text: testPolicyText('a') }, 'test:a');
  await store.set({ text: '{"schemaVersion": 2,' }, 'test:a');
  t.equal(store.lastRejection?.stage, 'syntax');
  const outcome = await store.set({ text: testPolicyText('a') }, 'test:a');
  t.equal(outcome.kind, 'unchanged');
  t.equal(store.lastRejection, null);
  const confirmations = () => lines.filter((l) => l.msg === 'policy valid again; unchanged from the policy in force');
  t.match(confirmations(), [{ level: 30, source: 'test:a', generation: 1 }], 'one info line');
  await store.set({ text: testPolicyText('a') }, 'test:a');
  t.equal(confirmations().length, 1, 'not repeated while nothing was refused');
});

t.test('the same content again is a no-op: no generation, no publish, no listener', async (t) => {
  const { store, published } = testStore();
  let notified = 0;
  store.onChange(() => { notified += 1; });
  await store.set({ text: testPolicyText('a') }, 'test:1');
  // Same meaning, other spelling: compact JSON, keys in another order and case.
  const same = testPolicy('a');
  const reordered = { Users: same['users'], managedRoomIds: same['managedRoomIds'], flags: same['flags'], identificationStamp: same['identificationStamp'], schemaVersion: 2 };
  const outcome = await store.set({ value: reordered }, 'test:2');
  t.equal(outcome.kind, 'unchanged');
  t.equal(store.current?.generation, 1);
  t.equal(store.current?.source, 'test:1', 'the policy in force keeps its origin');
  t.equal(published.length, 1);
  t.equal(notified, 1);
});

t.test('generations continue above the supervisor’s; the same policy is taken over without resending', async (t) => {
  const first = testStore();
  await first.store.set({ text: testPolicyText('a') }, 'test');
  const hash = first.store.current!.hash;

  const restarted = testStore({ inherited: { generation: 7, hash } });
  const changes: Array<number> = [];
  restarted.store.onChange((_p, n) => changes.push(n.generation));
  const resumed = await restarted.store.set({ text: testPolicyText('a') }, 'test');
  t.equal(resumed.kind, 'applied', 'this process did not hold a policy yet');
  t.equal(restarted.store.current?.generation, 7, 'the enforced generation is kept');
  t.equal(restarted.published.length, 0, 'not sent again: the gateway already enforces it');
  t.same(changes, [7], 'listeners (the reconciler) still learn about it');

  await restarted.store.set({ text: testPolicyText('b') }, 'test');
  t.equal(restarted.store.current?.generation, 8);
  t.same(restarted.published.map((s) => s.generation), [8]);

  const other = testStore({ inherited: { generation: 7, hash } });
  await other.store.set({ text: testPolicyText('c') }, 'test');
  t.equal(other.store.current?.generation, 8, 'another policy after a restart gets a higher generation');
  t.same(other.published.map((s) => s.generation), [8]);
});

t.test('quick successive sets are applied in call order', async (t) => {
  const { store, published } = testStore();
  const order: string[] = [];
  store.onChange((_p, next) => order.push(next.source));
  const outcomes = await Promise.all(['a', 'b', 'c', 'd'].map((v) => store.set({ text: testPolicyText(v, 200) }, `test:${v}`)));
  t.same(outcomes.map((o) => o.kind), ['applied', 'applied', 'applied', 'applied']);
  t.same(order, ['test:a', 'test:b', 'test:c', 'test:d']);
  t.same(published.map((s) => s.generation), [1, 2, 3, 4]);
  t.equal(store.current?.source, 'test:d', 'the last call wins');
});

t.test('a throwing listener is logged and does not stop the others', async (t) => {
  const { store, lines } = testStore();
  let reached = false;
  store.onChange(() => { throw new Error('boom'); });
  store.onChange(() => { reached = true; });
  const outcome = await store.set({ text: testPolicyText('a') }, 'test');
  t.equal(outcome.kind, 'applied');
  t.ok(reached);
  t.ok(lines.some((l) => l.msg === 'policy listener failed' && l.err === 'boom'));
});

t.test('a removed listener is not called; a pushed value is kept as its JSON text', async (t) => {
  const { store } = testStore();
  let calls = 0;
  const remove = store.onChange(() => { calls += 1; });
  remove();
  await store.set({ value: testPolicy('a') }, 'api');
  t.equal(calls, 0);
  t.same(JSON.parse(store.current!.text), testPolicy('a'));
});

t.test('secrets never reach the log', async (t) => {
  const { store, lines } = testStore();
  const policy = testPolicy('a');
  const users = policy['users'] as Array<Record<string, unknown>>;
  users[0]!['authType'] = 'plain';
  users[0]!['authCredential'] = 'hunter2-very-secret';
  users[1]!['id'] = 'not-a-user-id';
  await store.set({ value: policy }, 'test');
  await store.set({ value: { ...policy, users: [users[0]] } }, 'test');
  t.ok(lines.length > 0);
  t.notOk(JSON.stringify(lines).includes('hunter2-very-secret'));
});
