import t from 'tap';
import { CorporalError } from '../../../../src/common/errors.js';
import { IdentityCache, LOCKED_TTL_MS, cacheKey, type ClientGoneHook } from '../../../../src/gateway/identity/identity-cache.js';
import { EXPIRED_TOKEN, type CachedIdentity } from '../../../../src/gateway/identity/identity.js';
import { knownIdentity, lookUpIdentity, logoutEviction } from '../../../../src/gateway/identity/resolve.js';

/** Callbacks held until the test releases them all at once. */
function gated(): { wait: (resume: () => void) => void; release: () => void } {
  let waiting: Array<() => void> = [];
  return {
    wait: (resume) => void waiting.push(resume),
    release: () => {
      const pending = waiting;
      waiting = [];
      for (const resume of pending) resume();
    },
  };
}

/**
 * The cache with a scripted look-up: tokens starting `user` resolve to `@<token>:hs` (or the
 * masqueraded user), `locked` to a locked user, `expired` to an expired token (soft logout),
 * `fail` throw, anything else is unknown. Each look-up
 * waits until the test releases it, so concurrency is explicit.
 */
function scripted(): { calls: string[]; release: () => void; lookup: (token: string, masqueradeAs: Uint8Array | null) => Promise<CachedIdentity> } {
  const calls: string[] = [];
  const gate = gated();
  return {
    calls,
    release: gate.release,
    lookup: async (token, masqueradeAs) => {
      calls.push(masqueradeAs === null ? token : `${token}+${Buffer.from(masqueradeAs).toString('latin1')}`);
      await new Promise<void>((resolve) => gate.wait(resolve));
      if (token.startsWith('fail')) throw new CorporalError('CORP_ERR_WHOAMI_FAILED', 'down', { source: 'upstream', status: 502 });
      if (token.startsWith('locked')) return { kind: 'locked' };
      if (token.startsWith('expired')) return EXPIRED_TOKEN;
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

t.test('each resolution is reported once: cached, shared, whoami or refused', async (t) => {
  const script = scripted();
  const seen: string[] = [];
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup, maxLookupsInFlight: 1, onResolution: (resolution) => seen.push(resolution) });
  t.equal(cache.peek('user1', null), undefined);
  t.same(seen, [], 'a miss of peek is not a resolution: resolve follows');
  const first = cache.resolve('user1', null);
  const second = cache.resolve('user1', null);
  await t.rejects(cache.resolve('user2', null), { code: 'CORP_ERR_IDENTITY_LOOKUPS_BUSY' });
  await settle();
  script.release();
  await Promise.all([first, second]);
  t.ok(cache.peek('user1', null));
  await cache.resolve('user1', null);
  t.same(seen, ['whoami', 'shared', 'refused', 'cached', 'cached']);
});

t.test('an expired token is cached as a negative entry that keeps its soft logout (parity 18, P4)', async (t) => {
  const script = scripted();
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup });
  const expired = cache.resolve('expired1', null);
  await settle();
  script.release();
  t.same(await expired, { kind: 'unknown-token', softLogout: true });
  t.same(cache.peek('expired1', null), { kind: 'unknown-token', softLogout: true }, 'the cached entry still says soft logout');
  t.same(await cache.resolve('expired1', null), { kind: 'unknown-token', softLogout: true }, 'answered from the cache');
  t.same(script.calls, ['expired1'], 'one look-up');
  const unknown = cache.resolve('nope', null);
  await settle();
  script.release();
  t.same(await unknown, { kind: 'unknown-token' }, 'an unknown token has no soft logout');
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
  const ttl = (cache as unknown as { negatives: { getRemainingTTL(key: string): number } }).negatives.getRemainingTTL(cacheKey('locked1', null));
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

t.test('V4: a user identity answered across a user-wide eviction serves its waiters but is not kept', async (t) => {
  const script = scripted();
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup });
  // The look-up of a second token of @userE:hs is in flight when the user's tokens are revoked
  // (logout/all elsewhere): its user is unknown until the answer, so it cannot be cancelled.
  const inFlight = Promise.all([cache.resolve('userE', null), cache.resolve('userE', null)]);
  await settle();
  cache.evict([], '@userE:hs');
  script.release();
  const answers = await inFlight;
  t.ok(answers.every((identity) => identity.kind === 'user' && identity.userId === '@userE:hs'), 'the requests that waited get the answer');
  t.equal(cache.peek('userE', null), undefined, 'but it is not cached for a TTL');
  t.equal(cache.size, 0);

  const again = cache.resolve('userE', null);
  await settle();
  script.release();
  await again;
  t.same(script.calls, ['userE', 'userE'], 'the next use asks Synapse again');
  t.ok(cache.peek('userE', null), 'a look-up that overlapped no eviction is kept');
  t.equal(cache.evict([], '@userE:hs'), 1, 'and indexed under its user');

  // Only evictions of the answer's own user count: other users' logouts cannot keep tokens out.
  const overlapped = cache.resolve('userF', null);
  await settle();
  cache.evict([], '@someone-else:hs');
  script.release();
  await overlapped;
  t.ok(cache.peek('userF', null), "an eviction of another user does not stop caching");

  // More evictions during a look-up than are remembered: not kept (fail closed).
  const flooded = cache.resolve('userG', null);
  await settle();
  for (let i = 0; i < 300; i++) cache.evict([], `@other${i}:hs`);
  script.release();
  await flooded;
  t.equal(cache.peek('userG', null), undefined, 'too many evictions to tell: not cached');
});

t.test('the reverse indexes follow LRU eviction', async (t) => {
  const script = scripted();
  // Room for 3 identities plus 1 look-up in flight: 4 entries once every look-up is done.
  const cache = new IdentityCache({ maxEntries: 3, ttlMs: 60_000, lookup: script.lookup, maxLookupsInFlight: 1 });
  for (const token of ['user1', 'user2', 'user3', 'user4', 'user5']) {
    const pending = cache.resolve(token, token === 'user5' ? new TextEncoder().encode('@m:hs') : null);
    await settle();
    script.release();
    await pending;
  }
  const internals = cache as unknown as { keysByUser: Map<string, Set<string>>; keysByToken: Map<string, Set<string>> };
  t.same([...internals.keysByUser.keys()].sort(), ['@m:hs', '@user2:hs', '@user3:hs', '@user4:hs']);
  t.same([...internals.keysByToken.keys()], ['user5']);
  cache.evict([], '@m:hs');
  t.same([...internals.keysByToken.keys()], [], 'index entries go with their cache entries');
});

t.test('a known identity is the one cached for the (token, user_id) pair the request presents', async (t) => {
  const script = scripted();
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup });
  const bridged = new TextEncoder().encode('@bridged:hs');
  const warm = Promise.all([cache.resolve('userAS', null), cache.resolve('userAS', bridged)]);
  await settle();
  script.release();
  await warm;
  t.match(knownIdentity(cache, { kind: 'token', token: 'userAS', masqueradeAs: bridged }), { kind: 'user', userId: '@bridged:hs' }, 'the masqueraded user');
  t.match(knownIdentity(cache, { kind: 'token', token: 'userAS', masqueradeAs: null }), { kind: 'user', userId: '@userAS:hs' }, 'the token\'s own user');
  t.equal(knownIdentity(cache, { kind: 'token', token: 'userAS', masqueradeAs: new TextEncoder().encode('@other:hs') }), null,
    'another user_id is looked up, never answered with the token\'s own user');
});

t.test('cache keys cannot collide between a token and a (token, user) pair', async (t) => {
  const keys = new Set([
    cacheKey('a', null), cacheKey('a', new TextEncoder().encode('@b')), cacheKey('a@b', null), cacheKey('1:a@b', null),
    cacheKey('M1:a@b', null), cacheKey('', new TextEncoder().encode('a@b')),
  ]);
  t.equal(keys.size, 6);
});

t.test('evictions: 2xx answers to logout, logout/all, a password change and device deletions only', async (t) => {
  const token = { kind: 'token', token: 'tok', masqueradeAs: null } as const;
  const user = { kind: 'user', userId: '@u:hs', deviceId: 'D', isGuest: false } as const;
  t.same(logoutEviction('logout', 200, token, user), { tokens: ['tok'], userId: null });
  for (const routeId of ['logout.all', 'account.password', 'account.deactivate', 'devices.delete', 'devices.delete_many']) {
    t.same(logoutEviction(routeId, 200, token, user), { tokens: ['tok'], userId: '@u:hs' }, `${routeId}: every token of the user`);
    t.equal(logoutEviction(routeId, 401, token, user), null, `${routeId}: not on a refusal (UIA's 401)`);
  }
  t.equal(logoutEviction('account.password', 200, { kind: 'none' }, { kind: 'anonymous' }), null, 'a password reset without a token names nobody');
  t.same(logoutEviction('logout.all', 200, token, { kind: 'unknown-token' }), { tokens: ['tok'], userId: null });
  t.equal(logoutEviction('logout', 401, token, user), null);
  t.equal(logoutEviction('sync', 200, token, user), null);
  t.equal(logoutEviction('logout', 200, { kind: 'none' }, user), null);
});

/** A look-up that records the signal it got and waits for it (or for the test) to end it. */
function abortable(): { signals: AbortSignal[]; finish: () => void; lookup: (token: string, masqueradeAs: Uint8Array | null, signal?: AbortSignal) => Promise<CachedIdentity> } {
  const signals: AbortSignal[] = [];
  const gate = gated();
  return {
    signals,
    finish: gate.release,
    lookup: (token, _masqueradeAs, signal) => {
      signals.push(signal!);
      return new Promise((resolve, reject) => {
        signal!.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        gate.wait(() => resolve(token.startsWith('user') ? { kind: 'user', userId: `@${token}:hs`, deviceId: null, isGuest: false } : { kind: 'unknown-token' }));
      });
    },
  };
}

t.test('red team 4 F1: a look-up nobody waits for any more is cancelled', async (t) => {
  const script = abortable();
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup });
  const client: ClientGoneHook = { onClientGone: null };
  const result = lookUpIdentity(cache, 'random-1', null, client);
  await settle();
  t.equal(cache.lookupsInFlight, 1);
  t.type(client.onClientGone, 'function', 'the caller was told how to report its client leaving');
  client.onClientGone!();
  t.equal(script.signals[0]!.aborted, true, 'the whoami request is aborted');
  t.equal(cache.lookupsInFlight, 0, 'and no longer counts');
  t.match(await result, { kind: 'unresolved' });
  t.equal(cache.peek('random-1', null), undefined, 'nothing cached');
});

t.test('a shared look-up survives one of its callers leaving', async (t) => {
  const script = abortable();
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup });
  const leaving: ClientGoneHook = { onClientGone: null };
  const staying: ClientGoneHook = { onClientGone: null };
  const first = lookUpIdentity(cache, 'user7', null, leaving);
  const second = lookUpIdentity(cache, 'user7', null, staying);
  await settle();
  leaving.onClientGone!();
  t.equal(script.signals.length, 1, 'one look-up for both');
  t.equal(script.signals[0]!.aborted, false, 'still running for the other caller');
  script.finish();
  t.match(await second, { kind: 'user', userId: '@user7:hs' });
  t.match(await first, { kind: 'user' }, 'the caller that left gets the answer too (and ignores it)');
  t.equal(cache.lookupsInFlight, 0);
  t.equal(staying.onClientGone, null, 'the hook is cleared once the answer is in');
});

t.test('look-ups in flight are capped; past the cap a new token fails at once with 503', async (t) => {
  const script = abortable();
  const refusals: number[] = [];
  // 4 places: 3 open to any token, the last reserved for tokens that resolved to a user before.
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup, maxLookupsInFlight: 4, onLookupRefused: (n) => refusals.push(n) });
  const first = ['user-a', 'user-b', 'user-c'].map((token) => cache.resolve(token, null));
  await settle();
  t.same(refusals, [], 'nothing refused below the cap');
  await t.rejects(cache.resolve('user-d', null), { code: 'CORP_ERR_IDENTITY_LOOKUPS_BUSY', status: 503 });
  t.same(refusals, [3], 'the refusal is reported with the bound it met, here the 3 open places (the thread logs it)');
  const sharedA = cache.resolve('user-a', null);
  await settle();
  t.equal(script.signals.length, 3, 'a caller joining a look-up in flight is not refused, and starts none');
  script.finish();
  await Promise.all([...first, sharedA]);
  t.equal(cache.lookupsInFlight, 0);
  const d = cache.resolve('user-d', null);
  await settle();
  t.equal(cache.lookupsInFlight, 1, 'below the cap again, d is looked up');
  script.finish();
  t.match(await d, { kind: 'user', userId: '@user-d:hs' });
});

t.test('red team 17 F1: the last look-up places are kept for tokens that resolved to a user before', async (t) => {
  const script = abortable();
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 20, lookup: script.lookup, maxLookupsInFlight: 4 });
  const known = cache.resolve('user-known', null);
  await settle();
  script.finish();
  await known;
  await new Promise((resolve) => setTimeout(resolve, 40)); // its entry has expired
  const flood = ['random-1', 'random-2', 'random-3', 'random-4'].map((token) => cache.resolve(token, null).then(() => 'ok', () => 'refused'));
  await settle();
  const again = cache.resolve('user-known', null);
  await settle();
  t.equal(cache.lookupsInFlight, 4, 'three random tokens and the known one are looked up');
  const refusals: number[] = [];
  const full = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup, maxLookupsInFlight: 1, onLookupRefused: (n) => refusals.push(n) });
  const only = full.resolve('user-one', null);
  await t.rejects(full.resolve('user-two', null), { code: 'CORP_ERR_IDENTITY_LOOKUPS_BUSY' });
  t.same(refusals, [1], 'at the full cap, the refusal names it');
  script.finish();
  t.same(await Promise.all(flood), ['ok', 'ok', 'ok', 'refused'], 'random tokens get the open places only');
  t.match(await again, { kind: 'user', userId: '@user-known:hs' }, 'the known token takes the reserved place');
  await only;
});

t.test('unknown tokens never evict the identities of users', async (t) => {
  const script = scripted();
  const cache = new IdentityCache({ maxEntries: 3, ttlMs: 60_000, lookup: script.lookup });
  const resolveNow = async (token: string): Promise<CachedIdentity> => {
    const pending = cache.resolve(token, null);
    await settle();
    script.release();
    return pending;
  };
  for (const token of ['user1', 'user2', 'user3']) await resolveNow(token);
  for (let i = 0; i < 50; i++) t.same(await resolveNow(`random-${i}`), { kind: 'unknown-token' });
  for (const token of ['user1', 'user2', 'user3']) t.match(cache.peek(token, null), { kind: 'user', userId: `@${token}:hs` }, `${token} still cached`);
  t.same(cache.peek('random-49', null), { kind: 'unknown-token' }, 'negative answers are cached too');
});

t.test('red team 17 F2: an ordinary token with ever new user_id values costs one look-up and one entry', async (t) => {
  const calls: string[] = [];
  // Synapse ignores user_id for an ordinary token: whoami answers the token's own user.
  const lookup = async (token: string, masqueradeAs: Uint8Array | null): Promise<CachedIdentity> => {
    calls.push(masqueradeAs === null ? token : `${token}+${Buffer.from(masqueradeAs).toString('latin1')}`);
    return { kind: 'user', userId: `@${token}:hs`, deviceId: 'D', isGuest: false };
  };
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup });
  await cache.resolve('victim', null);
  for (let i = 0; i < 500; i++) t.match(await cache.resolve('bob', new TextEncoder().encode(`@x${i}:hs`)), { kind: 'user', userId: '@bob:hs' });
  t.equal(calls.filter((c) => c.startsWith('bob')).length, 1, 'one whoami for 500 user_id values');
  t.ok(cache.size <= 2, `entries: ${cache.size}`);
  t.match(knownIdentity(cache, { kind: 'token', token: 'victim', masqueradeAs: null }), { kind: 'user', userId: '@victim:hs' }, 'the victim is still cached');
  t.match(knownIdentity(cache, { kind: 'token', token: 'bob', masqueradeAs: new TextEncoder().encode('@y:hs') }), { kind: 'user', userId: '@bob:hs' }, 'known synchronously for any user_id');
  t.equal(cache.evict([], '@bob:hs'), 1, 'a user-wide eviction drops it');
  // An appservice token (answers the user_id) is still cached per user_id.
  const as = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: async (_token, m) => ({ kind: 'user', userId: Buffer.from(m!).toString('utf8'), deviceId: null, isGuest: false }) });
  await as.resolve('as', new TextEncoder().encode('@a:hs'));
  t.equal(knownIdentity(as, { kind: 'token', token: 'as', masqueradeAs: new TextEncoder().encode('@b:hs') }), null, 'appservice: another user_id is looked up');
});

t.test('red team 17 F1: one client address cannot take every look-up place', async (t) => {
  const script = scripted();
  const refused: Array<[number, string | null]> = [];
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup, maxLookupsInFlight: 8, maxLookupsPerClient: 3, onLookupRefused: (limit, client) => refused.push([limit, client]) });
  const flood = [1, 2, 3, 4, 5].map((i) => cache.resolve(`random${i}`, null, undefined, '203.0.113.7').then(() => 'ok', () => 'refused'));
  const victim = cache.resolve('userVictim', null, undefined, '198.51.100.9');
  await settle();
  script.release();
  t.same(await Promise.all(flood), ['ok', 'ok', 'ok', 'refused', 'refused'], 'the flooding address gets 3 places');
  t.match(await victim, { kind: 'user', userId: '@userVictim:hs' }, 'another client\'s new token is looked up');
  t.same(refused, [[3, '203.0.113.7'], [3, '203.0.113.7']], 'refused for that client\'s bound, naming it');
  const again = cache.resolve('random9', null, undefined, '203.0.113.7');
  await settle();
  script.release();
  t.match(await again, { kind: 'unknown-token' }, 'places are given back when look-ups end');
});

t.test('verification 17b L1: an ordinary token is remembered once, by itself, and forgotten at logout', async (t) => {
  const script = abortable(); // answers the token's own user whatever the user_id: an ordinary token
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 20, lookup: script.lookup, maxLookupsInFlight: 4 });
  const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
  const first = cache.resolve('user-x', encode('@invented:hs'));
  await settle();
  script.finish();
  await first;
  await new Promise((resolve) => setTimeout(resolve, 40)); // its entry has expired
  let round = 0;
  const underPressure = async (resolveIt: () => Promise<unknown>): Promise<string> => {
    round++;
    const flood = [1, 2, 3].map((i) => cache.resolve(`random-${round}-${i}`, null).catch(() => undefined));
    await settle();
    const outcome = resolveIt().then(() => 'looked up', () => 'refused');
    await settle();
    script.finish();
    await Promise.all(flood);
    return outcome;
  };
  t.equal(await underPressure(() => cache.resolve('user-x', encode('@another-invention:hs'))), 'refused', 'an invented user_id does not make a known key');
  await new Promise((resolve) => setTimeout(resolve, 40));
  t.equal(await underPressure(() => cache.resolve('user-x', null)), 'looked up', 'the token itself is known');
  cache.evict(['user-x'], null);
  t.equal(await underPressure(() => cache.resolve('user-x', null)), 'refused', 'logged out, it has no claim to a reserved place');
});

t.test('a token seeded from a login answer needs no look-up, is known, and replaces nothing', async (t) => {
  const script = abortable();
  const cache = new IdentityCache({ maxEntries: 100, ttlMs: 60_000, lookup: script.lookup, maxLookupsInFlight: 4 });
  const alice = { kind: 'user', userId: '@alice:hs', deviceId: 'NEW', isGuest: false } as const;
  cache.seed('fresh-token', alice);
  t.same(cache.peek('fresh-token', null), alice);
  t.same(await cache.resolve('fresh-token', null), alice);
  t.equal(script.signals.length, 0, 'no whoami');
  cache.seed('fresh-token', { ...alice, deviceId: 'OTHER' });
  t.same(cache.peek('fresh-token', null), alice, 'an entry already there wins');
  t.equal(cache.evict([], '@alice:hs'), 1, 'indexed by its user: a logout of all devices drops it');
  cache.seed('after-logout-all', alice);
  t.equal(cache.peek('after-logout-all', null), undefined, 'not seeded for a user whose sessions were all just ended: it may be dead already');
  cache.seed('expiring-token', { ...alice, userId: '@bob:hs' }, 20);
  t.match(cache.peek('expiring-token', null), { userId: '@bob:hs' });
  await new Promise((resolve) => setTimeout(resolve, 40));
  t.equal(cache.peek('expiring-token', null), undefined, 'a token that expires is not kept past its expiry');
});
