import t from 'tap';
import { combineRounds, median } from '../../../bench/support/rounds.js';
import type { Measurement } from '../../../bench/scenarios/scenario.js';

t.test('median of odd and even counts, whatever the order', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
  t.equal(median([7]), 7);
});

t.test('rounds combine into medians per figure and summed errors', async (t) => {
  const round = (rps: number, p99: number, errors: number, mibs: number): Measurement => ({ rps, p50: 1, p975: p99 - 1, p99, errors, extra: { 'MiB/s': mibs } });
  t.same(combineRounds([round(100, 5, 0, 10), round(300, 3, 2, 30), round(200, 9, 1, 20)]), {
    rps: 200, p50: 1, p975: 4, p99: 5, errors: 3, extra: { 'MiB/s': 20 },
  });
  const single = round(1, 2, 3, 4);
  t.equal(combineRounds([single]), single, 'one round is returned as is');
});
