import t from 'tap';
import { LineCounter } from '../../../src/policy/line-counter.js';

t.test('positions of ascending offsets, and of an offset asked for again after a later one', async (t) => {
  const text = 'ab\ncd\n\nef';
  const counter = new LineCounter(text);
  t.same(counter.at(0), { line: 1, column: 1 });
  t.same(counter.at(2), { line: 1, column: 3 }, 'the newline itself ends its line');
  t.same(counter.at(4), { line: 2, column: 2 });
  t.same(counter.at(8), { line: 4, column: 2 });
  t.same(counter.at(1), { line: 1, column: 2 }, 'an earlier offset starts the count again');
  t.same(counter.at(6), { line: 3, column: 1 });
  t.same(new LineCounter('no newline').at(3), { line: 1, column: 4 });
});
