import t from 'tap';
import { createFailedAttemptsTable, FailedAttempts } from '../../../../src/gateway/internal-auth/failed-attempts.js';

t.test('a burst of failures, then one more per refill interval', async (t) => {
  let now = 1_000_000;
  const attempts = new FailedAttempts(createFailedAttemptsTable(), 3, 0.5, () => now);
  t.equal(attempts.waitMs('@a:x'), 0, 'nothing failed yet');
  attempts.failed('@a:x');
  attempts.failed('@a:x');
  t.equal(attempts.waitMs('@a:x'), 0, 'two of three used');
  attempts.failed('@a:x');
  t.equal(attempts.waitMs('@a:x'), 2000, 'spent: one more takes 2 s at 0.5/s');
  now += 1000;
  t.equal(attempts.waitMs('@a:x'), 1000);
  now += 1000;
  t.equal(attempts.waitMs('@a:x'), 0, 'one more allowed');
  attempts.failed('@a:x');
  t.equal(attempts.waitMs('@a:x'), 2000, 'and spent again');
  t.equal(attempts.waitMs('@b:x'), 0, 'another user has a budget of their own');
  now += 60_000;
  attempts.failed('@a:x');
  t.equal(attempts.waitMs('@a:x'), 0, 'after a quiet minute the whole burst is back');
});

t.test('threads share the count through the table', async (t) => {
  const table = createFailedAttemptsTable();
  const now = () => 5_000_000;
  const first = new FailedAttempts(table, 3, 0.17, now);
  const second = new FailedAttempts(table, 3, 0.17, now);
  first.failed('@a:x');
  second.failed('@a:x');
  first.failed('@a:x');
  t.ok(second.waitMs('@a:x') > 0, 'three failures over two threads spend the one budget');
  t.ok(first.waitMs('@a:x') > 0);
});
