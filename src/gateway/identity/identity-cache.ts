import { LRUCache } from 'lru-cache';
import { CorporalError, describeError } from '../../common/errors.js';
import { ErrCode } from '../../common/matrix-errors.js';
import type { CachedIdentity, UserIdentity } from './identity.js';
import type { IdentityLookup } from './whoami.js';
import { InFlightPerKey } from '../in-flight-per-key.js';
import { KnownTokens, RESERVED_LOOKUP_FRACTION } from './known-tokens.js';

/** Options of {@link IdentityCache}. */
export interface IdentityCacheOptions {
  /**
   * Users' identities kept (`UserMappingResolver.CacheSize`). Look-ups in flight take room on top
   * of this, and negative answers live in a second LRU of a quarter this size (at least 100).
   */
  maxEntries: number;
  /** Life of every entry, positive or negative (`UserMappingResolver.ExpirationTimeMilliseconds`). */
  ttlMs: number;
  /** The whoami call. */
  lookup: IdentityLookup;
  /** Look-ups in flight at once; a new one beyond this fails at once (default {@link MAX_LOOKUPS_IN_FLIGHT}). */
  maxLookupsInFlight?: number;
  /** Look-ups in flight started by one client address (default {@link MAX_LOOKUPS_PER_CLIENT}). */
  maxLookupsPerClient?: number;
  /**
   * Told each time a look-up is refused, with the limit reached and, for the per-client bound, the
   * client's address key (null for the thread's bound); the thread logs it, throttled.
   */
  onLookupRefused?: (limit: number, client: string | null) => void;
  /** Told how each token was resolved (the thread's request metrics); at most once per call of `peek` or `resolve`. */
  onResolution?: (resolution: TokenResolution) => void;
}

/**
 * How a token was resolved: `cached` (a hit, positive or negative), `shared` (joined a look-up in
 * flight), `whoami` (started a look-up), `refused` (look-ups at their limit: left unresolved).
 */
export type TokenResolution = 'cached' | 'shared' | 'whoami' | 'refused';

/**
 * Distinct token look-ups one gateway thread runs at once. Beyond this a request with an uncached
 * token is treated like one whose look-up failed (`unresolved`: refused where Corporal acts on the
 * user, else left to Synapse), instead of queueing: a flood of random tokens then costs a bounded
 * amount of memory and homeserver work, and cannot build a backlog that delays later look-ups
 * for as long as `Matrix.TimeoutMilliseconds` (red team 4, F1).
 */
export const MAX_LOOKUPS_IN_FLIGHT = 256;

/**
 * Distinct token look-ups one client address (an IPv6 client's /64, as password checks count it)
 * may have started and still running on one thread. Without it, one client sending random tokens
 * over a few hundred connections kept all {@link MAX_LOOKUPS_IN_FLIGHT} places taken, and every
 * user whose token was not cached (a new login, an entry past its TTL) had each message send and
 * every other policy-checked request refused 503 (red team 17, F1).
 */
export const MAX_LOOKUPS_PER_CLIENT = 32;

/**
 * Negative answers (unknown tokens, locked users) are kept apart from the users' identities, in
 * an LRU of this fraction of `CacheSize` (at least {@link MIN_NEGATIVE_ENTRIES}): a stream of
 * random tokens then evicts other random tokens, never the identities of real users.
 */
const NEGATIVE_ENTRIES_FRACTION = 0.25;
const MIN_NEGATIVE_ENTRIES = 100;

/**
 * How a caller of {@link IdentityCache.resolve} says that its client has left: `resolve` sets
 * `onClientGone` while the caller waits, and the caller calls it if its client leaves. A plain
 * callback slot rather than an AbortSignal, which costs an AbortController, listeners and an
 * event per token look-up (measurable on a stream of new tokens).
 */
export interface ClientGoneHook {
  onClientGone: (() => void) | null;
}

/** A look-up in flight: how many requests still wait for it. */
interface PendingLookup {
  waiters: number;
  /** The client address key that started it (counted in `IdentityCache.lookupsByClient`), or null. */
  client: string | null;
}

/**
 * Locked users are cached as negative entries for at most this long: unlike an unknown token, a
 * lock is lifted again (the reconciler unlocks users who become active), and until the entry
 * expires the gateway would treat the user's requests as unauthenticated.
 */
export const LOCKED_TTL_MS = 10_000;

interface FetchContext {
  token: string;
  masqueradeAs: Uint8Array | null;
}

/**
 * The token → identity cache of one gateway thread: users' identities in an LRU with TTL
 * (lru-cache 11), negative answers (unknown tokens, locked users) in a second, smaller LRU
 * ({@link NEGATIVE_ENTRIES_FRACTION}), and single-flight look-ups — concurrent misses on one key
 * share one whoami call (`fetch` / `fetchMethod`), at most {@link MAX_LOOKUPS_IN_FLIGHT} at once
 * (more fail at once), cancelled when every request waiting for it has left
 * ({@link ClientGoneHook}). Failed look-ups are not cached, nor an answer
 * whose look-up spanned an eviction of its own user (docs/gateway.md §3).
 *
 * The key is the token, or the token plus the appservice `user_id` it masquerades as (whoami is
 * asked for that user, so the two are different identities). Keys are built so that no token can
 * collide with a (token, user_id) pair.
 *
 * A reverse index user id → keys lets `/logout/all` drop every cached token of a user.
 */
export class IdentityCache {
  private readonly cache: LRUCache<string, CachedIdentity, FetchContext>;
  private readonly negatives: LRUCache<string, CachedIdentity>;
  private readonly pending = new Map<string, PendingLookup>();
  private readonly maxLookupsInFlight: number;
  private readonly lookupsByClient: InFlightPerKey;
  private readonly keysByUser = new Map<string, Set<string>>();
  private readonly keysByToken = new Map<string, Set<string>>();
  /**
   * The users of the latest user-wide evictions, newest last ({@link RECENT_USER_EVICTIONS} at
   * most), and how many there have been in all. A look-up in flight for another token of an
   * evicted user cannot be cancelled (its user is known only from the answer), so an identity
   * answered across an eviction of its own user is used for the requests that waited for it but
   * not kept: Synapse may have given it just before the revocation, and the cache would then hold
   * a dead token for a whole TTL. Only that user's evictions count, so other users' logouts cannot
   * keep every new token out of the cache (verification round 12); when more evictions happened
   * during a look-up than are remembered, the answer is not kept either (fail closed).
   */
  private readonly recentUserEvictions: string[] = [];
  private userEvictions = 0;
  /** Identities answered across an eviction of their user (see {@link recentUserEvictions}): dropped once delivered. */
  private readonly outdated = new WeakSet<CachedIdentity>();
  /**
   * Identities of ordinary (non-appservice) tokens, known as such because whoami with a `user_id`
   * answered another user: Synapse ignores `user_id` for them. Cached under the plain token's key
   * only, and used for every `user_id` the token comes with, so that one user cannot fill the LRU
   * (and evict everybody else's identity) with one entry and one whoami per `user_id` value
   * (red team 17, F2).
   */
  private readonly ordinary = new WeakSet<CachedIdentity>();
  private readonly lookup: IdentityLookup;
  private readonly lockedTtlMs: number;
  private readonly onLookupRefused: ((limit: number, client: string | null) => void) | undefined;
  private readonly onResolution: (resolution: TokenResolution) => void;
  /** Thrown for every look-up refused at the limit: built once, a flood of them must stay cheap. */
  private readonly lookupsBusy: CorporalError;
  /** Keys that resolved to a user before: only they may take the reserved look-up places (known-tokens.ts). */
  private readonly knownTokens: KnownTokens;
  /** Look-ups in flight beyond which only {@link knownTokens} are looked up. */
  private readonly openLookups: number;

  constructor(options: IdentityCacheOptions) {
    this.lookup = options.lookup;
    this.onLookupRefused = options.onLookupRefused;
    this.onResolution = options.onResolution ?? ((): void => undefined);
    this.lockedTtlMs = Math.min(options.ttlMs, LOCKED_TTL_MS);
    this.maxLookupsInFlight = options.maxLookupsInFlight ?? MAX_LOOKUPS_IN_FLIGHT;
    this.lookupsByClient = new InFlightPerKey(options.maxLookupsPerClient ?? MAX_LOOKUPS_PER_CLIENT);
    this.lookupsBusy = tooManyLookups(this.maxLookupsInFlight);
    this.knownTokens = new KnownTokens(options.maxEntries);
    this.openLookups = Math.max(1, Math.floor(this.maxLookupsInFlight * (1 - RESERVED_LOOKUP_FRACTION)));
    this.cache = new LRUCache<string, CachedIdentity, FetchContext>({
      // lru-cache keeps a look-up in flight as an entry: room for every one of them on top of
      // `maxEntries` identities, so that a look-up never evicts a user's identity.
      max: options.maxEntries + this.maxLookupsInFlight,
      ttl: options.ttlMs,
      updateAgeOnGet: false,
      fetchMethod: (_key, _stale, { options: entryOptions, context, signal }) => this.fetchIdentity(context, entryOptions, signal),
      onInsert: (value, key) => this.indexed(value, key),
      dispose: (value, key) => this.unindexed(value, key),
    });
    this.negatives = new LRUCache<string, CachedIdentity>({
      max: Math.max(MIN_NEGATIVE_ENTRIES, Math.ceil(options.maxEntries * NEGATIVE_ENTRIES_FRACTION)),
      ttl: options.ttlMs,
      updateAgeOnGet: false,
    });
  }

  /** Entries currently cached (in-flight look-ups and negative answers included). */
  get size(): number {
    return this.cache.size + this.negatives.size;
  }

  /** Look-ups in flight now. */
  get lookupsInFlight(): number {
    return this.pending.size;
  }

  /**
   * The cached identity for these credentials, synchronously; undefined on a miss (or while a
   * look-up is in flight). A hit counts as a `cached` resolution: the pipeline asks this first.
   */
  peek(token: string, masqueradeAs: Uint8Array | null): CachedIdentity | undefined {
    const known = this.cached(cacheKey(token, masqueradeAs)) ?? this.cachedOrdinary(token, masqueradeAs);
    if (known !== undefined) this.onResolution('cached');
    return known;
  }

  /** For a request with a `user_id`: the token's own identity when the token is known to be an ordinary one. */
  private cachedOrdinary(token: string, masqueradeAs: Uint8Array | null): CachedIdentity | undefined {
    if (masqueradeAs === null) return undefined;
    const plain = this.cache.get(cacheKey(token, null));
    return plain !== undefined && this.ordinary.has(plain) ? plain : undefined;
  }

  /**
   * The identity for these credentials: from the cache, or from one whoami call shared by every
   * concurrent caller. Rejects with a `CorporalError` when the look-up fails (not cached), and at
   * once when {@link MAX_LOOKUPS_IN_FLIGHT} other look-ups are running, when all but the reserved
   * quarter of them are and this key never resolved to a user (known-tokens.ts), or when `client`
   * (an address key) has {@link MAX_LOOKUPS_PER_CLIENT} of them.
   *
   * `gone` is told how to report that this caller's client has left (see {@link ClientGoneHook}).
   * The shared look-up is cancelled only once every caller waiting for it has left (cancelling
   * earlier would fail the others): a client that sends a token and disconnects at once leaves no
   * whoami call behind.
   */
  async resolve(token: string, masqueradeAs: Uint8Array | null, gone?: ClientGoneHook, client: string | null = null): Promise<CachedIdentity> {
    const key = cacheKey(token, masqueradeAs);
    const known = this.cached(key) ?? this.cachedOrdinary(token, masqueradeAs);
    if (known !== undefined) {
      this.onResolution('cached');
      return known;
    }
    let pending = this.pending.get(key);
    if (pending === undefined) {
      if (this.pending.size >= this.maxLookupsInFlight || (this.pending.size >= this.openLookups && !this.knownTokens.has(key))) {
        this.onLookupRefused?.(this.pending.size >= this.maxLookupsInFlight ? this.maxLookupsInFlight : this.openLookups, null);
        this.onResolution('refused');
        throw this.lookupsBusy;
      }
      if (client !== null && !this.lookupsByClient.tryAcquire(client)) {
        this.onLookupRefused?.(this.lookupsByClient.limit, client);
        this.onResolution('refused');
        throw this.lookupsBusy;
      }
      pending = { waiters: 0, client };
      this.pending.set(key, pending);
      this.onResolution('whoami');
    } else {
      this.onResolution('shared');
    }
    pending.waiters++;
    let left = false;
    const leave = (cancel: boolean): void => {
      if (left) return;
      left = true;
      if (--pending.waiters > 0) return;
      if (this.pending.get(key) === pending) this.pending.delete(key);
      if (pending.client !== null) this.lookupsByClient.release(pending.client);
      // Deleting an in-flight entry makes lru-cache abort the fetch's signal (the whoami request).
      if (cancel) this.cache.delete(key);
    };
    if (gone !== undefined) gone.onClientGone = () => leave(true);
    // Indexed before the look-up starts, so that evicting the token also cancels a look-up in flight.
    if (masqueradeAs !== null) addToIndex(this.keysByToken, token, key);
    let identity: CachedIdentity | undefined;
    try {
      identity = await this.cache.fetch(key, { context: { token, masqueradeAs } });
    } catch (err) {
      // A failed look-up leaves no entry, so nothing would ever dispose its index entry.
      if (masqueradeAs !== null && !this.cache.has(key)) removeFromIndex(this.keysByToken, token, key);
      if (err instanceof CorporalError) throw err;
      // Also how lru-cache rejects a look-up whose entry was deleted (evicted, abandoned) while in flight.
      throw lookupFailed(`identity look-up failed: ${describeError(err)}`, err);
    } finally {
      if (gone !== undefined) gone.onClientGone = null;
      leave(false);
    }
    if (identity === undefined) throw lookupFailed('the token was evicted while it was being looked up');
    // Dropped in the microtask checkpoint that settles the look-up: no later request can find it.
    if (this.outdated.has(identity) && this.cache.peek(key) === identity) this.cache.delete(key);
    if (identity.kind !== 'user') {
      this.keepNegative(key, identity);
      return identity;
    }
    const ordinary = masqueradeAs !== null && identity.userId !== Buffer.from(masqueradeAs).toString('utf8');
    // An ordinary token is remembered once, by itself: its `user_id` values are the client's to
    // invent, and must not each take a reserved look-up place (verification 17b, L1).
    this.knownTokens.remember(ordinary ? cacheKey(token, null) : key);
    if (ordinary && !this.outdated.has(identity)) this.keepOrdinary(key, token, identity);
    return identity;
  }

  /**
   * Drops the given tokens (with every appservice user they masquerade as) and, when `userId` is
   * given, every token of that user. Returns how many entries were dropped.
   */
  evict(tokens: readonly string[], userId: string | null): number {
    let dropped = 0;
    for (const token of tokens) {
      this.knownTokens.forget(cacheKey(token, null));
      if (this.cache.delete(cacheKey(token, null))) dropped++;
      if (this.negatives.delete(cacheKey(token, null))) dropped++;
      const masquerades = this.keysByToken.get(token);
      if (masquerades) {
        for (const key of [...masquerades]) {
          this.knownTokens.forget(key);
          if (this.cache.delete(key)) dropped++;
        }
      }
    }
    if (userId !== null) {
      this.userEvictions++;
      this.recentUserEvictions.push(userId);
      if (this.recentUserEvictions.length > RECENT_USER_EVICTIONS) this.recentUserEvictions.shift();
      const keys = this.keysByUser.get(userId);
      if (keys) {
        for (const key of [...keys]) {
          this.knownTokens.forget(key);
          if (this.cache.delete(key)) dropped++;
        }
      }
    }
    return dropped;
  }

  /**
   * Caches the identity Synapse's own login answer gave a new token (`identity`), so that the
   * client's first requests need no whoami, and a flood of random tokens filling the look-up
   * places cannot hold up a user who has just logged in (red team 17, F1). Nothing is replaced:
   * an entry or a look-up already there wins. A token that expires (`expiresInMs`, from a login
   * with a refresh token) is not kept past its expiry.
   */
  seed(token: string, identity: UserIdentity, expiresInMs: number | null = null): void {
    const key = cacheKey(token, null);
    if (this.cache.has(key) || this.pending.has(key)) return;
    // A logout of all the user's sessions (a password change, a device deletion) may have been
    // answered while the login answer was still on its way: the new token may be dead already.
    // Not seeded then (looked up as usual), as a whoami answer across such an eviction is not
    // cached (verification 17c, L1).
    if (this.recentUserEvictions.includes(identity.userId)) return;
    this.cache.set(key, identity, expiresInMs === null ? undefined : { ttl: Math.min(expiresInMs, this.cache.ttl) });
    this.knownTokens.remember(key);
  }

  /** Empties the cache (thread shutdown). */
  clear(): void {
    this.cache.clear();
    this.negatives.clear();
  }

  /** A user's identity, else a negative answer, cached under `key`. */
  private cached(key: string): CachedIdentity | undefined {
    return this.cache.get(key) ?? this.negatives.get(key);
  }

  private async fetchIdentity(
    context: FetchContext,
    entryOptions: LRUCache.FetcherFetchOptions<string, CachedIdentity, FetchContext>,
    signal: AbortSignal,
  ): Promise<CachedIdentity> {
    const evictionsBefore = this.userEvictions;
    const identity = await this.lookup(context.token, context.masqueradeAs, signal);
    if (identity.kind === 'user' && this.evictedSince(identity.userId, evictionsBefore)) this.outdated.add(identity);
    if (identity.kind === 'locked') entryOptions.ttl = this.lockedTtlMs;
    return identity;
  }

  /** Whether `userId` had a user-wide eviction after the `evictionsBefore`-th (true when that is no longer known). */
  private evictedSince(userId: string, evictionsBefore: number): boolean {
    const since = this.userEvictions - evictionsBefore;
    if (since === 0) return false;
    const recent = this.recentUserEvictions;
    if (since > recent.length) return true;
    for (let i = recent.length - since; i < recent.length; i++) if (recent[i] === userId) return true;
    return false;
  }

  /** Moves a negative answer from the identities' LRU into its own (see {@link NEGATIVE_ENTRIES_FRACTION}). */
  private keepNegative(key: string, identity: CachedIdentity): void {
    if (this.cache.get(key) !== identity) return;
    const ttl = this.cache.getRemainingTTL(key);
    this.cache.delete(key);
    this.negatives.set(key, identity, { ttl: ttl > 0 && Number.isFinite(ttl) ? ttl : undefined });
  }

  /**
   * Moves the identity of a token whoami answered for another user than the `user_id` asked for
   * (an ordinary token: Synapse ignored `user_id`) to the plain token's key, marked {@link ordinary}.
   */
  private keepOrdinary(key: string, token: string, identity: UserIdentity): void {
    if (this.cache.peek(key) !== identity) return;
    const ttl = this.cache.getRemainingTTL(key);
    this.cache.delete(key);
    // A plain look-up of the token in flight keeps its entry (overwriting it would fail its waiters).
    if (this.pending.has(cacheKey(token, null))) return;
    this.ordinary.add(identity);
    this.cache.set(cacheKey(token, null), identity, { ttl: ttl > 0 && Number.isFinite(ttl) ? ttl : undefined });
  }

  /** onInsert: also called with lru-cache's in-flight placeholders, which have no `kind`. */
  private indexed(value: unknown, key: string): void {
    if (isCachedIdentity(value) && value.kind === 'user') addToIndex(this.keysByUser, value.userId, key);
  }

  private unindexed(value: unknown, key: string): void {
    if (isCachedIdentity(value) && value.kind === 'user') removeFromIndex(this.keysByUser, value.userId, key);
    if (key.charCodeAt(0) === MASQUERADE_KEY) removeFromIndex(this.keysByToken, tokenOfMasqueradeKey(key), key);
  }
}

const MASQUERADE_KEY = 0x4d; // 'M'

/** User-wide evictions remembered for look-ups in flight (see `IdentityCache.recentUserEvictions`). */
const RECENT_USER_EVICTIONS = 256;

/**
 * `T<token>` for a plain token; `M<length of token>:<token><user_id bytes as latin1>` for an
 * appservice masquerade. The prefix and the length make the encoding injective: a token sent
 * through the query string may contain any byte, so a separator alone could be forged.
 */
export function cacheKey(token: string, masqueradeAs: Uint8Array | null): string {
  if (masqueradeAs === null) return `T${token}`;
  const user = Buffer.from(masqueradeAs.buffer, masqueradeAs.byteOffset, masqueradeAs.byteLength).toString('latin1');
  return `M${token.length}:${token}${user}`;
}

function tokenOfMasqueradeKey(key: string): string {
  const colon = key.indexOf(':');
  const length = Number(key.slice(1, colon));
  return key.slice(colon + 1, colon + 1 + length);
}

function isCachedIdentity(value: unknown): value is CachedIdentity {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}

function addToIndex(index: Map<string, Set<string>>, name: string, key: string): void {
  let keys = index.get(name);
  if (!keys) index.set(name, (keys = new Set()));
  keys.add(key);
}

function removeFromIndex(index: Map<string, Set<string>>, name: string, key: string): void {
  const keys = index.get(name);
  if (!keys) return;
  keys.delete(key);
  if (keys.size === 0) index.delete(name);
}

/** `code` of a look-up refused because the thread has its maximum of look-ups in flight (503). */
export const IDENTITY_LOOKUPS_BUSY = 'CORP_ERR_IDENTITY_LOOKUPS_BUSY';

function tooManyLookups(limit: number): CorporalError {
  return new CorporalError(IDENTITY_LOOKUPS_BUSY, `identity look-up refused: ${limit} look-ups already in flight on this thread`, {
    source: 'upstream', status: 503, errcode: ErrCode.Unknown, retryable: true,
  });
}

function lookupFailed(message: string, cause?: unknown): CorporalError {
  return new CorporalError('CORP_ERR_IDENTITY_LOOKUP', message, {
    source: 'upstream', status: 502, errcode: ErrCode.Unknown, retryable: true, ...(cause === undefined ? {} : { cause }),
  });
}
