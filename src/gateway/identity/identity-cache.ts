import { LRUCache } from 'lru-cache';
import { CorporalError, describeError } from '../../common/errors.js';
import { ErrCode } from '../../common/matrix-errors.js';
import type { CachedIdentity } from './identity.js';
import type { IdentityLookup } from './whoami.js';

/** Options of {@link IdentityCache}. */
export interface IdentityCacheOptions {
  /** Entries kept (`UserMappingResolver.CacheSize`). */
  maxEntries: number;
  /** Life of every entry, positive or negative (`UserMappingResolver.ExpirationTimeMilliseconds`). */
  ttlMs: number;
  /** The whoami call. */
  lookup: IdentityLookup;
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
 * The token → identity cache of one gateway thread: an LRU with TTL (lru-cache 11), negative
 * entries for unknown tokens and locked users, and single-flight look-ups — concurrent misses on
 * one key share one whoami call (`fetch` / `fetchMethod`). Failed look-ups are not cached.
 *
 * The key is the token, or the token plus the appservice `user_id` it masquerades as (whoami is
 * asked for that user, so the two are different identities). Keys are built so that no token can
 * collide with a (token, user_id) pair.
 *
 * A reverse index user id → keys lets `/logout/all` drop every cached token of a user.
 */
export class IdentityCache {
  private readonly cache: LRUCache<string, CachedIdentity, FetchContext>;
  private readonly keysByUser = new Map<string, Set<string>>();
  private readonly keysByToken = new Map<string, Set<string>>();
  private readonly lookup: IdentityLookup;
  private readonly lockedTtlMs: number;

  constructor(options: IdentityCacheOptions) {
    this.lookup = options.lookup;
    this.lockedTtlMs = Math.min(options.ttlMs, LOCKED_TTL_MS);
    this.cache = new LRUCache<string, CachedIdentity, FetchContext>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      updateAgeOnGet: false,
      fetchMethod: (_key, _stale, { options: entryOptions, context }) => this.fetchIdentity(context, entryOptions),
      onInsert: (value, key) => this.indexed(value, key),
      dispose: (value, key) => this.unindexed(value, key),
    });
  }

  /** Entries currently cached (in-flight look-ups included). */
  get size(): number {
    return this.cache.size;
  }

  /** The cached identity for these credentials, synchronously; undefined on a miss (or while a look-up is in flight). */
  peek(token: string, masqueradeAs: Uint8Array | null): CachedIdentity | undefined {
    return this.cache.get(cacheKey(token, masqueradeAs));
  }

  /**
   * The identity for these credentials: from the cache, or from one whoami call shared by every
   * concurrent caller. Rejects with a `CorporalError` when the look-up fails (not cached).
   *
   * There is deliberately no abort signal: aborting a shared look-up would fail every other
   * request waiting for it. A caller whose client left simply ignores the result.
   */
  async resolve(token: string, masqueradeAs: Uint8Array | null): Promise<CachedIdentity> {
    const key = cacheKey(token, masqueradeAs);
    // Indexed before the look-up starts, so that evicting the token also cancels a look-up in flight.
    if (masqueradeAs !== null) addToIndex(this.keysByToken, token, key);
    let identity: CachedIdentity | undefined;
    try {
      identity = await this.cache.fetch(key, { context: { token, masqueradeAs } });
    } catch (err) {
      // A failed look-up leaves no entry, so nothing would ever dispose its index entry.
      if (masqueradeAs !== null && !this.cache.has(key)) removeFromIndex(this.keysByToken, token, key);
      if (err instanceof CorporalError) throw err;
      // Also how lru-cache rejects a look-up whose entry was deleted (evicted) while in flight.
      throw lookupFailed(`identity look-up failed: ${describeError(err)}`, err);
    }
    if (identity === undefined) throw lookupFailed('the token was evicted while it was being looked up');
    return identity;
  }

  /**
   * Drops the given tokens (with every appservice user they masquerade as) and, when `userId` is
   * given, every token of that user. Returns how many entries were dropped.
   */
  evict(tokens: readonly string[], userId: string | null): number {
    let dropped = 0;
    for (const token of tokens) {
      if (this.cache.delete(cacheKey(token, null))) dropped++;
      const masquerades = this.keysByToken.get(token);
      if (masquerades) for (const key of [...masquerades]) if (this.cache.delete(key)) dropped++;
    }
    if (userId !== null) {
      const keys = this.keysByUser.get(userId);
      if (keys) for (const key of [...keys]) if (this.cache.delete(key)) dropped++;
    }
    return dropped;
  }

  /** Empties the cache (thread shutdown). */
  clear(): void {
    this.cache.clear();
  }

  private async fetchIdentity(
    context: FetchContext,
    entryOptions: LRUCache.FetcherFetchOptions<string, CachedIdentity, FetchContext>,
  ): Promise<CachedIdentity> {
    const identity = await this.lookup(context.token, context.masqueradeAs);
    if (identity.kind === 'locked') entryOptions.ttl = this.lockedTtlMs;
    return identity;
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

function lookupFailed(message: string, cause?: unknown): CorporalError {
  return new CorporalError('CORP_ERR_IDENTITY_LOOKUP', message, {
    source: 'upstream', status: 502, errcode: ErrCode.Unknown, retryable: true, ...(cause === undefined ? {} : { cause }),
  });
}
