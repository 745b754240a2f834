import t from 'tap';
import { withDeadline } from '../../../src/common/deadline.js';

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
