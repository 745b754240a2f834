import t from 'tap';
import { createFailedAttemptsTable, FailedAttempts } from '../../../../src/gateway/internal-auth/failed-attempts.js';

t.test('a burst of checks that fail, then one more per refill interval', async (t) => {
  let now = 1_000_000;
  const attempts = new FailedAttempts(createFailedAttemptsTable(), 3, 0.5, () => now);
  t.same([attempts.take('@a:x'), attempts.take('@a:x'), attempts.take('@a:x')], [0, 0, 0], 'the burst');
  t.equal(attempts.take('@a:x'), 2000, 'spent: the next is due in 2 s at 0.5/s');
  now += 1000;
  t.equal(attempts.take('@a:x'), 1000, 'a refused take costs nothing');
  now += 1000;
  t.equal(attempts.take('@a:x'), 0, 'due');
  t.equal(attempts.take('@a:x'), 2000, 'and spent again');
  t.equal(attempts.take('@b:x'), 0, 'another user has a budget of their own');
  now += 60_000;
  t.same([attempts.take('@a:x'), attempts.take('@a:x'), attempts.take('@a:x')], [0, 0, 0], 'after a quiet minute the whole burst is back');
});

t.test('a refunded check (right password, no verdict) does not count', async (t) => {
  const now = () => 2_000_000;
  const attempts = new FailedAttempts(createFailedAttemptsTable(), 3, 0.17, now);
  for (let i = 0; i < 10; i++) {
    t.equal(attempts.take('@a:x'), 0);
    attempts.refund('@a:x');
  }
});

t.test('threads share the count through the table, and see each other\'s checks in flight', async (t) => {
  const table = createFailedAttemptsTable();
  const now = () => 5_000_000;
  const first = new FailedAttempts(table, 3, 0.17, now);
  const second = new FailedAttempts(table, 3, 0.17, now);
  t.same([first.take('@a:x'), second.take('@a:x'), first.take('@a:x')], [0, 0, 0], 'three taken over two threads, none settled yet');
  t.ok(second.take('@a:x') > 0, 'the fourth waits, although no check has finished');
  t.ok(first.take('@a:x') > 0);
});
