import t from 'tap';
import { settleWithin, withDeadline } from '../../../src/common/deadline.js';

/** Resolves when `signal` aborts, with its reason. */
const aborted = (signal: AbortSignal): Promise<unknown> => new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));

t.test('the work sees its signal abort at the deadline, with the described error', async (t) => {
  const reason = await withDeadline(20, () => 'too slow', aborted);
  t.match(reason, { message: 'too slow' });
});

t.test('a linked signal aborts the work at once, with its reason', async (t) => {
  const client = new AbortController();
  const work = withDeadline(60_000, () => 'never', aborted, client.signal);
  client.abort(new Error('client left'));
  t.match(await work, { message: 'client left' });
});

t.test('an already aborted link aborts before the work starts', async (t) => {
  const link = AbortSignal.abort(new Error('gone'));
  const seen = await withDeadline(60_000, () => 'never', async (signal) => signal.aborted, link);
  t.equal(seen, true);
});

t.test('the link is released once the work settles', async (t) => {
  const client = new AbortController();
  let inner: AbortSignal | undefined;
  await withDeadline(60_000, () => 'never', async (signal) => {
    inner = signal;
  }, client.signal);
  client.abort(new Error('later'));
  t.equal(inner!.aborted, false, 'a later abort of the link does not reach a finished call');
});

/** How many timers this process has pending (Node counts each as one `Timeout` resource). */
const pendingTimers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

t.test('settleWithin: work that settles in time decides, and its timer goes with it', async (t) => {
  const before = pendingTimers();
  t.equal(await settleWithin(Promise.resolve('done'), 60_000, () => 'late'), 'done');
  t.equal(pendingTimers(), before, 'no hour-long timer left behind');
  await t.rejects(settleWithin(Promise.reject(new Error('broke')), 60_000, () => 'late'), { message: 'broke' });
  t.equal(pendingTimers(), before);
});

t.test('settleWithin: past the time, late() decides, by its value or by what it throws', async (t) => {
  const never = new Promise<string>(() => {});
  t.equal(await settleWithin(never, 10, () => 'late'), 'late');
  await t.rejects(settleWithin(never, 10, () => { throw new Error('too slow'); }), { message: 'too slow' });
});

t.test('settleWithin: work that fails after the time is up is ignored, not an unhandled rejection', async (t) => {
  let fail: (err: Error) => void = () => {};
  const work = new Promise<string>((_, reject) => { fail = reject; });
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason); };
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => { process.off('unhandledRejection', onUnhandled); });
  t.equal(await settleWithin(work, 10, () => 'gave up'), 'gave up');
  fail(new Error('late failure'));
  await new Promise((resolve) => setImmediate(resolve));
  t.same(unhandled, []);
});

t.test('settleWithin: unref lets the process end while it waits', async (t) => {
  const never = new Promise<string>(() => {});
  const before = pendingTimers();
  void settleWithin(never, 60_000, () => 'late', { unref: true });
  t.equal(pendingTimers(), before, 'an unref\'d timer is not an active resource');
});
