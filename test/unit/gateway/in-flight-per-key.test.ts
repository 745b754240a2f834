import t from 'tap';
import { InFlightPerKey } from '../../../src/gateway/in-flight-per-key.js';

t.test('a release gives back one place, not every place of the key', async (t) => {
  const limit = new InFlightPerKey(2);
  t.ok(limit.tryAcquire('@alice:hs'));
  t.ok(limit.tryAcquire('@alice:hs'));
  t.notOk(limit.tryAcquire('@alice:hs'), 'at the limit');
  limit.release('@alice:hs');
  t.equal(limit.inFlight('@alice:hs'), 1, 'one still in flight');
  t.ok(limit.tryAcquire('@alice:hs'), 'the place given back is taken again');
  t.notOk(limit.tryAcquire('@alice:hs'), 'and the limit holds once more');
  limit.release('@alice:hs');
  limit.release('@alice:hs');
  t.equal(limit.size, 0, 'a key with nothing in flight is forgotten');
});
