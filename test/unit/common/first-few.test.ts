import t from 'tap';
import { firstFew } from '../../../src/common/first-few.js';

t.test('lists up to the limit, then says how many more', async (t) => {
  t.equal(firstFew([]), '');
  t.equal(firstFew(['@a:x']), '@a:x');
  t.equal(firstFew(['a', 'b', 'c', 'd', 'e']), 'a, b, c, d, e', 'five: all of them');
  t.equal(firstFew(['a', 'b', 'c', 'd', 'e', 'f', 'g']), 'a, b, c, d, e and 2 more');
  t.equal(firstFew(['a', 'b', 'c'], 2), 'a, b and 1 more', 'another limit');
});
