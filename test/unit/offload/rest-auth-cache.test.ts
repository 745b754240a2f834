import t from 'tap';
import { RestAuthCache, createRestAuthCache } from '../../../src/offload/rest-auth-cache.js';
import type { UserAuthConfig } from '../../../src/common/config/types.js';

/** A clock the test moves by hand, so TTL checks do not depend on real time. */
function manualClock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const URL_A = 'https://auth.example.com/check';
const URL_B = 'https://other.example.com/check';

t.test('recalls exactly the remembered combination', async (t) => {
  const cache = new RestAuthCache(10, 60_000, manualClock());
  cache.remember('@alice:example.com', 'secret', URL_A, { displayName: 'Alice' });
  t.same(cache.recall('@alice:example.com', 'secret', URL_A), { displayName: 'Alice' });
  t.equal(cache.recall('@alice:example.com', 'Secret', URL_A), undefined, 'other password');
  t.equal(cache.recall('@alice:example.com', '', URL_A), undefined, 'empty password');
  t.equal(cache.recall('@bob:example.com', 'secret', URL_A), undefined, 'other user');
  t.equal(cache.recall('@alice:example.com', 'secret', URL_B), undefined, 'other service URL');
});

t.test('the parts of the key cannot be shifted into each other', async (t) => {
  const cache = new RestAuthCache(10, 60_000, manualClock());
  cache.remember('@a-b:x', 'c', URL_A, {});
  t.equal(cache.recall('@a:x', 'b-c', URL_A), undefined);
  t.equal(cache.recall('@a-b:x:c', '', URL_A), undefined);
  t.same(cache.recall('@a-b:x', 'c', URL_A), {});
});

t.test('entries expire after the TTL, and recalling does not extend it', async (t) => {
  const clock = manualClock();
  const cache = new RestAuthCache(10, 1_000, clock);
  cache.remember('@alice:example.com', 'secret', URL_A, {});
  clock.advance(1_000);
  t.same(cache.recall('@alice:example.com', 'secret', URL_A), {}, 'still fresh when exactly the TTL old');
  clock.advance(1);
  t.equal(cache.recall('@alice:example.com', 'secret', URL_A), undefined, 'gone after the TTL');
});

t.test('remembering again restarts the TTL', async (t) => {
  const clock = manualClock();
  const cache = new RestAuthCache(10, 1_000, clock);
  cache.remember('@alice:example.com', 'secret', URL_A, {});
  clock.advance(800);
  cache.remember('@alice:example.com', 'secret', URL_A, { displayName: 'New' });
  clock.advance(800);
  t.same(cache.recall('@alice:example.com', 'secret', URL_A), { displayName: 'New' });
});

t.test('forget evicts', async (t) => {
  const cache = new RestAuthCache(10, 60_000, manualClock());
  cache.remember('@alice:example.com', 'secret', URL_A, {});
  cache.forget('@alice:example.com', 'secret', URL_A);
  t.equal(cache.recall('@alice:example.com', 'secret', URL_A), undefined);
  t.equal(cache.size, 0);
});

t.test('quality 18 #15: a refusal heard by one thread evicts the combination from every thread\'s cache', async (t) => {
  const clock = manualClock();
  const threads: RestAuthCache[] = [];
  const relayed: string[] = [];
  // What the supervisor does with a thread's `rest-auth.forget`: every thread drops the key.
  const relay = (key: string) => { relayed.push(key); for (const cache of threads) cache.forgetKey(key); };
  threads.push(new RestAuthCache(10, 60_000, clock, relay), new RestAuthCache(10, 60_000, clock, relay));
  const [a, b] = threads as [RestAuthCache, RestAuthCache];
  a.remember('@alice:example.com', 'old-secret', URL_A, {});
  b.remember('@alice:example.com', 'old-secret', URL_A, {});
  b.remember('@alice:example.com', 'other', URL_A, {});
  a.forget('@alice:example.com', 'old-secret', URL_A);
  t.equal(b.recall('@alice:example.com', 'old-secret', URL_A), undefined, 'the other thread can no longer vouch for it');
  t.ok(b.recall('@alice:example.com', 'other', URL_A), 'other combinations stay');
  t.equal(relayed.length, 1);
  t.notMatch(relayed[0]!, /old-secret|alice/, 'the key names neither user nor password');
});

t.test('holds at most `size` entries, least recently used out first', async (t) => {
  const cache = new RestAuthCache(2, 60_000, manualClock());
  cache.remember('@a:x', 'pw', URL_A, {});
  cache.remember('@b:x', 'pw', URL_A, {});
  t.ok(cache.recall('@a:x', 'pw', URL_A), 'touch @a');
  cache.remember('@c:x', 'pw', URL_A, {});
  t.equal(cache.size, 2);
  t.ok(cache.recall('@a:x', 'pw', URL_A));
  t.equal(cache.recall('@b:x', 'pw', URL_A), undefined, 'least recently used went first');
  t.ok(cache.recall('@c:x', 'pw', URL_A));
});

t.test('built from UserAuth config; rejects unusable sizes and TTLs', async (t) => {
  const config: UserAuthConfig = { RestTimeoutMilliseconds: 1000, RestCacheFallback: true, RestCacheTtlMilliseconds: 500, RestCacheSize: 1 };
  const clock = manualClock();
  const cache = createRestAuthCache(config, clock);
  cache.remember('@a:x', 'pw', URL_A, {});
  cache.remember('@b:x', 'pw', URL_A, {});
  t.equal(cache.size, 1, 'RestCacheSize');
  clock.advance(501);
  t.equal(cache.recall('@b:x', 'pw', URL_A), undefined, 'RestCacheTtlMilliseconds');
  t.throws(() => new RestAuthCache(0, 1000), { code: 'CORP_ERR_CONFIG_INVALID' });
  t.throws(() => new RestAuthCache(1.5, 1000), { code: 'CORP_ERR_CONFIG_INVALID' });
  t.throws(() => new RestAuthCache(10, 0), { code: 'CORP_ERR_CONFIG_INVALID' });
  t.throws(() => new RestAuthCache(10, Number.NaN), { code: 'CORP_ERR_CONFIG_INVALID' });
});
