import t from 'tap';
import { mapBounded } from '../../../src/common/map-bounded.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

t.test('results in input order, never more than the limit in flight', async (t) => {
  let inFlight = 0;
  let most = 0;
  const results = await mapBounded([5, 1, 4, 2, 3, 0, 6], 3, async (n, index) => {
    inFlight++;
    most = Math.max(most, inFlight);
    for (let i = 0; i < n; i++) await tick();
    inFlight--;
    return `${index}:${n}`;
  });
  t.same(results, ['0:5', '1:1', '2:4', '3:2', '4:3', '5:0', '6:6']);
  t.equal(most, 3);
});

t.test('the first failure stops new calls, waits for those in flight, and is thrown', async (t) => {
  const started: number[] = [];
  const finished: number[] = [];
  const failing = mapBounded([0, 1, 2, 3, 4, 5], 2, async (n) => {
    started.push(n);
    await tick();
    if (n === 1) throw new Error('boom 1');
    if (n === 2) throw new Error('boom 2');
    await tick();
    finished.push(n);
    return n;
  });
  await t.rejects(failing, { message: 'boom 1' });
  t.same(started, [0, 1], 'nothing started after the failure');
  t.same(finished, [0], 'the call in flight was awaited');
});

t.test('empty input; a limit above the item count', async (t) => {
  t.same(await mapBounded([], 4, async () => 1), []);
  t.same(await mapBounded([1, 2], 10, async (n) => n * 2), [2, 4]);
});
