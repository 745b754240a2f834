import t from 'tap';
import { CorporalError } from '../../../../src/common/errors.js';
import { IdentityCache, LOCKED_TTL_MS, cacheKey } from '../../../../src/gateway/identity/identity-cache.js';
import type { CachedIdentity } from '../../../../src/gateway/identity/identity.js';
import { lookUpIdentity, logoutEviction } from '../../../../src/gateway/identity/resolve.js';

/**
 * The cache with a scripted look-up: tokens starting `user` resolve to `@<token>:hs` (or the
 * masqueraded user), `locked` to a locked user, `fail` throw, anything else is unknown. Each look-up
 * waits until the test releases it, so concurrency is explicit.
 */
function scripted(): { calls: string[]; release: () => void; lookup: (token: string, masqueradeAs: Uint8Array | null) => Promise<CachedIdentity> } {
  const calls: string[] = [];
  let waiting: Array<() => void> = [];
  return {
    calls,
    release: () => {
      const pending = waiting;
      waiting = [];
      for (const resume of pending) resume();
    },
    lookup: async (token, masqueradeAs) => {
      calls.push(masqueradeAs === null ? token : `${token}+${Buffer.from(masqueradeAs).toString('latin1')}`);
      await new Promise<void>((resolve) => waiting.push(resolve));
      if (token.startsWith('fail')) throw new CorporalError('CORP_ERR_WHOAMI_FAILED', 'down', { source: 'upstream', status: 502 });
      if (token.startsWith('locked')) return { kind: 'locked' };
      if (!token.startsWith('user')) return { kind: 'unknown-token' };
      const userId = masqueradeAs === null ? `@${token}:hs` : Buffer.from(masqueradeAs).toString('latin1');
      return { kind: 'user', userId, deviceId: null, isGuest: false };
    },
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('concurrent misses share one look-up; hits are synchronous', async (t) => {
  const script = scripted();
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup });
  t.equal(cache.peek('user1', null), undefined);
  const all = Promise.all(Array.from({ length: 1000 }, () => cache.resolve('user1', null)));
  await settle();
  script.release();
  const results = await all;
  t.same(script.calls, ['user1']);
  t.ok(results.every((identity) => identity.kind === 'user' && identity.userId === '@user1:hs'));
  t.same(cache.peek('user1', null), { kind: 'user', userId: '@user1:hs', deviceId: null, isGuest: false });
});

t.test('unknown tokens are cached, failures are not', async (t) => {
  const script = scripted();
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup });
  const unknown = cache.resolve('nope', null);
  await settle();
  script.release();
  t.same(await unknown, { kind: 'unknown-token' });
  t.same(cache.peek('nope', null), { kind: 'unknown-token' });
  for (let i = 0; i < 2; i++) {
    const failing = lookUpIdentity(cache, 'fail', null);
    await settle();
    script.release();
    const identity = await failing;
    t.equal(identity.kind, 'unresolved');
    t.equal(identity.kind === 'unresolved' ? identity.error.code : '', 'CORP_ERR_WHOAMI_FAILED');
  }
  t.same(script.calls, ['nope', 'fail', 'fail'], 'each failure was looked up again');
  t.equal(cache.peek('fail', null), undefined);
});

t.test('locked users get a short-lived negative entry', async (t) => {
  const script = scripted();
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup });
  const locked = cache.resolve('locked1', null);
  await settle();
  script.release();
  t.same(await locked, { kind: 'locked' });
  const ttl = (cache as unknown as { cache: { getRemainingTTL(key: string): number } }).cache.getRemainingTTL(cacheKey('locked1', null));
  t.ok(ttl > 0 && ttl <= LOCKED_TTL_MS, `remaining TTL ${ttl} ms ≤ ${LOCKED_TTL_MS}`);
});

t.test('eviction by token (with its masquerades) and by user; in-flight look-ups are cancelled', async (t) => {
  const script = scripted();
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup });
  const masquerade = new TextEncoder().encode('@bridged:hs');
  const warm = Promise.all([cache.resolve('userA', null), cache.resolve('userA', masquerade), cache.resolve('userB', null)]);
  await settle();
  script.release();
  await warm;
  t.equal(cache.evict(['userA'], null), 2, 'the token and its masquerade');
  t.equal(cache.peek('userA', masquerade), undefined);
  t.ok(cache.peek('userB', null));

  const second = Promise.all([cache.resolve('userB2', masquerade), cache.resolve('userC', masquerade)]);
  await settle();
  script.release();
  await second;
  t.equal(cache.evict([], '@bridged:hs'), 2, 'every key of the user');
  t.ok(cache.peek('userB', null), 'other users stay');

  const inFlight = lookUpIdentity(cache, 'userD', null);
  await settle();
  t.equal(cache.evict(['userD'], null), 1);
  script.release();
  t.equal((await inFlight).kind, 'unresolved', 'a look-up evicted in flight is not used');
  t.equal(cache.peek('userD', null), undefined, 'and not stored');
});

t.test('the reverse indexes follow LRU eviction', async (t) => {
  const script = scripted();
  const cache = new IdentityCache({ maxEntries: 3, ttlMs: 60_000, lookup: script.lookup });
  for (const token of ['user1', 'user2', 'user3', 'user4', 'user5']) {
    const pending = cache.resolve(token, token === 'user5' ? new TextEncoder().encode('@m:hs') : null);
    await settle();
    script.release();
    await pending;
  }
  const internals = cache as unknown as { keysByUser: Map<string, Set<string>>; keysByToken: Map<string, Set<string>> };
  t.same([...internals.keysByUser.keys()].sort(), ['@m:hs', '@user3:hs', '@user4:hs']);
  t.same([...internals.keysByToken.keys()], ['user5']);
  cache.evict([], '@m:hs');
  t.same([...internals.keysByToken.keys()], [], 'index entries go with their cache entries');
});

t.test('cache keys cannot collide between a token and a (token, user) pair', async (t) => {
  const keys = new Set([
    cacheKey('a', null), cacheKey('a', new TextEncoder().encode('@b')), cacheKey('a@b', null), cacheKey('1:a@b', null),
    cacheKey('M1:a@b', null), cacheKey('', new TextEncoder().encode('a@b')),
  ]);
  t.equal(keys.size, 6);
});

t.test('logout evictions: 2xx answers to logout and logout/all only', async (t) => {
  const token = { kind: 'token', token: 'tok', masqueradeAs: null } as const;
  const user = { kind: 'user', userId: '@u:hs', deviceId: 'D', isGuest: false } as const;
  t.same(logoutEviction('logout', 200, token, user), { tokens: ['tok'], userId: null });
  t.same(logoutEviction('logout.all', 200, token, user), { tokens: ['tok'], userId: '@u:hs' });
  t.same(logoutEviction('logout.all', 200, token, { kind: 'unknown-token' }), { tokens: ['tok'], userId: null });
  t.equal(logoutEviction('logout', 401, token, user), null);
  t.equal(logoutEviction('sync', 200, token, user), null);
  t.equal(logoutEviction('logout', 200, { kind: 'none' }, user), null);
});
