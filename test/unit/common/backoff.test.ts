import t from 'tap';
import { backoffDelay } from '../../../src/common/backoff.js';

t.test('doubles from the initial delay up to the cap', async (t) => {
  const options = { initialMs: 100, maxMs: 1000 };
  t.same([0, 1, 2, 3, 4, 5, 40].map((n) => backoffDelay(n, options)), [100, 200, 400, 800, 1000, 1000, 1000]);
});

t.test('jitter stays within [delay/2, delay]', async (t) => {
  const options = { initialMs: 100, maxMs: 1000, jitter: true };
  t.equal(backoffDelay(2, options, () => 0), 200);
  t.equal(backoffDelay(2, options, () => 1), 400);
  t.equal(backoffDelay(10, options, () => 0.5), 750);
});
