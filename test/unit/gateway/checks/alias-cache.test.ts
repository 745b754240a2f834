import t from 'tap';
import { createAliasResolver } from '../../../../src/gateway/checks/alias-cache.js';

t.test('caches found and not-found answers, shares concurrent look-ups', async (t) => {
  const calls: string[] = [];
  const resolve = createAliasResolver({
    ttlMs: 60_000,
    maxEntries: 10,
    lookup: async (alias) => {
      calls.push(alias);
      await new Promise((r) => setImmediate(r));
      return alias === '#a:hs' ? '!a:hs' : null;
    },
  });
  t.same(await Promise.all([resolve('#a:hs'), resolve('#a:hs'), resolve('#missing:hs')]), ['!a:hs', '!a:hs', null]);
  t.same(await Promise.all([resolve('#a:hs'), resolve('#missing:hs')]), ['!a:hs', null]);
  t.same(calls, ['#a:hs', '#missing:hs'], 'one look-up per alias');
});

t.test('failures resolve to null and are not cached', async (t) => {
  let attempts = 0;
  const resolve = createAliasResolver({
    ttlMs: 60_000,
    maxEntries: 10,
    lookup: async () => {
      attempts++;
      if (attempts === 1) throw new Error('timeout');
      return '!a:hs';
    },
  });
  t.equal(await resolve('#a:hs'), null);
  t.equal(await resolve('#a:hs'), '!a:hs', 'retried after a failure');
  t.equal(attempts, 2);
});

t.test('entries expire after the TTL', async (t) => {
  let calls = 0;
  let now = 1000;
  const clock = { now: () => now };
  const resolve = createAliasResolver({ ttlMs: 5000, maxEntries: 10, clock, lookup: async () => `!r${++calls}:hs` });
  t.equal(await resolve('#a:hs'), '!r1:hs');
  now += 4999;
  t.equal(await resolve('#a:hs'), '!r1:hs', 'still fresh');
  now += 2;
  t.equal(await resolve('#a:hs'), '!r2:hs', 'looked up again');
});

t.test('at most maxEntries aliases are kept', async (t) => {
  const calls: string[] = [];
  const resolve = createAliasResolver({ ttlMs: 60_000, maxEntries: 2, lookup: async (alias) => (calls.push(alias), '!r:hs') });
  for (const alias of ['#a:hs', '#b:hs', '#c:hs', '#a:hs']) await resolve(alias);
  t.same(calls, ['#a:hs', '#b:hs', '#c:hs', '#a:hs'], '#a was evicted by #c');
});
