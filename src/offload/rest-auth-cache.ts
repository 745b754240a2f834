/**
 * The `rest` fallback cache: successful (user, password, service URL) combinations, so that a
 * user who logged in recently can still log in while the auth service is down. matrix-corporal
 * documented this fallback but never wired it up; Corporal enables it with
 * `UserAuth.RestCacheFallback`. Lives in a gateway thread (each thread has its own).
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { CorporalError } from '../common/errors.js';
import type { UserAuthConfig } from '../common/config/types.js';

/** What a cached success remembers besides the fact itself. */
export interface RestAuthCacheEntry {
  /** The display name the service returned with that success, if any. */
  displayName?: string;
}

/** A monotonic millisecond clock (`performance` by default; tests pass their own). */
export interface CacheClock {
  now(): number;
}

/**
 * See the module comment. Keys are SHA-256 digests: the cache never holds a password.
 *
 * Each gateway thread has its own cache, but a refusal must hold in all of them: a "no" that one
 * thread heard evicts the combination everywhere (`onForget`, relayed by the supervisor to every
 * thread's {@link forgetKey}); otherwise, with the service down, another thread's cache would
 * still let in a password the service had just refused (quality review 18, #15).
 */
export class RestAuthCache {
  readonly #entries: LRUCache<string, RestAuthCacheEntry>;
  readonly #onForget: ((key: string) => void) | undefined;

  /**
   * `size` entries at most (least recently used go first), each valid until it is more than
   * `ttlMs` old. `onForget` is told the key of every combination {@link forget} drops, for the
   * other threads' caches.
   */
  constructor(size: number, ttlMs: number, clock?: CacheClock, onForget?: (key: string) => void) {
    this.#onForget = onForget;
    if (!Number.isInteger(size) || size < 1) throw cacheConfigError(`RestCacheSize must be a positive integer, got ${size}`);
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw cacheConfigError(`RestCacheTtlMilliseconds must be positive, got ${ttlMs}`);
    this.#entries = new LRUCache<string, RestAuthCacheEntry>({
      max: size,
      ttl: ttlMs,
      // Expired entries must never answer, however recently the clock was read.
      ttlResolution: 0,
      allowStale: false,
      updateAgeOnGet: false,
      ...(clock ? { perf: clock } : {}),
    });
  }

  /** Records that the service at `url` accepted `password` for `userId`; restarts the entry's TTL. */
  remember(userId: string, password: string, url: string, entry: RestAuthCacheEntry): void {
    this.#entries.set(cacheKey(userId, password, url), entry);
  }

  /** The unexpired success for exactly this combination, if any. */
  recall(userId: string, password: string, url: string): RestAuthCacheEntry | undefined {
    return this.#entries.get(cacheKey(userId, password, url));
  }

  /** Drops the combination (the service said no to it), here and, through `onForget`, in the other threads. */
  forget(userId: string, password: string, url: string): void {
    const key = cacheKey(userId, password, url);
    this.#entries.delete(key);
    this.#onForget?.(key);
  }

  /** Drops the combination another thread's {@link forget} named by its key. */
  forgetKey(key: string): void {
    this.#entries.delete(key);
  }

  /** Entries held, expired ones not yet purged included. */
  get size(): number {
    return this.#entries.size;
  }
}

/** The cache sized by `UserAuth.RestCacheSize` and `UserAuth.RestCacheTtlMilliseconds`; see {@link RestAuthCache} for `onForget`. */
export function createRestAuthCache(config: UserAuthConfig, clock?: CacheClock, onForget?: (key: string) => void): RestAuthCache {
  return new RestAuthCache(config.RestCacheSize, config.RestCacheTtlMilliseconds, clock, onForget);
}

/**
 * SHA-256 of the JSON array of the three values: JSON keeps the parts apart (matrix-corporal joined
 * them with `-`, so `a-b`+`c` and `a`+`b-c` collided).
 */
function cacheKey(userId: string, password: string, url: string): string {
  return createHash('sha256').update(JSON.stringify([userId, url, password]), 'utf8').digest('base64');
}

function cacheConfigError(message: string): CorporalError {
  return new CorporalError('CORP_ERR_CONFIG_INVALID', message, { source: 'config' });
}
