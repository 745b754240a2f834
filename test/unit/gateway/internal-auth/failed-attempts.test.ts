import t from 'tap';
import { createFailedAttemptsTable } from '../../../../src/common/failed-attempts-table.js';
import { FAILED_ATTEMPTS_BURST, FAILED_ATTEMPTS_PER_SECOND, FailedAttempts, type Take } from '../../../../src/gateway/internal-auth/failed-attempts.js';

/** The wait of a refused take, 0 for an allowed one. */
const waitOf = (take: Take): number => (take.allowed ? 0 : take.waitMs);

t.test('a burst of checks that fail, then one more per refill interval', async (t) => {
  let now = 1_000_000;
  const attempts = new FailedAttempts(createFailedAttemptsTable(), 3, 0.5, () => now);
  t.same([0, 1, 2].map(() => waitOf(attempts.take('@a:x'))), [0, 0, 0], 'the burst');
  t.equal(waitOf(attempts.take('@a:x')), 2000, 'spent: the next is due in 2 s at 0.5/s');
  now += 1000;
  t.equal(waitOf(attempts.take('@a:x')), 1000, 'a refused take costs nothing');
  now += 1000;
  t.equal(waitOf(attempts.take('@a:x')), 0, 'due');
  t.equal(waitOf(attempts.take('@a:x')), 2000, 'and spent again');
  t.equal(waitOf(attempts.take('@b:x')), 0, 'another user has a budget of their own');
  now += 60_000;
  t.same([0, 1, 2].map(() => waitOf(attempts.take('@a:x'))), [0, 0, 0], 'after a quiet minute the whole burst is back');
});

t.test("Synapse's default numbers: 3, then one every 5.9 s", async (t) => {
  const attempts = new FailedAttempts(createFailedAttemptsTable(), FAILED_ATTEMPTS_BURST, FAILED_ATTEMPTS_PER_SECOND, () => 3_000_000);
  t.same([0, 1, 2, 3].map(() => waitOf(attempts.take('@a:x'))), [0, 0, 0, 5882]);
});

t.test('a refunded check (right password, no verdict) does not count', async (t) => {
  const now = () => 2_000_000;
  const attempts = new FailedAttempts(createFailedAttemptsTable(), 3, 0.17, now);
  for (let i = 0; i < 10; i++) {
    const take = attempts.take('@a:x');
    t.equal(take.allowed, true, `check ${i + 1}`);
    if (take.allowed) attempts.refund('@a:x', take.ticket);
  }
});

t.test('a check that stayed pending gives back only what is left of its share', async (t) => {
  let now = 4_000_000;
  const attempts = new FailedAttempts(createFailedAttemptsTable(), 3, 0.5, () => now);
  const pending = attempts.take('@a:x');
  now += 10_000; // its share has run out
  t.same([0, 1, 2].map(() => waitOf(attempts.take('@a:x'))), [0, 0, 0], 'three wrong guesses');
  if (pending.allowed) attempts.refund('@a:x', pending.ticket);
  t.equal(waitOf(attempts.take('@a:x')), 2000, 'the late refund gave nothing back: the fourth still waits');
});

t.test("threads share the count through the table, and see each other's checks in flight", async (t) => {
  const table = createFailedAttemptsTable();
  const now = () => 5_000_000;
  const first = new FailedAttempts(table, 3, 0.17, now);
  const second = new FailedAttempts(table, 3, 0.17, now);
  t.same([first.take('@a:x'), second.take('@a:x'), first.take('@a:x')].map(waitOf), [0, 0, 0], 'three taken over two threads, none settled yet');
  t.ok(waitOf(second.take('@a:x')) > 0, 'the fourth waits, although no check has finished');
  t.ok(waitOf(first.take('@a:x')) > 0);
});
