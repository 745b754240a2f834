import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * The last look-up places of a thread are kept for tokens that resolved to a user before
 * (`IdentityCache`): a flood of random tokens — from more client addresses than the per-client
 * bound can tell apart — can fill the others, but never these, so users whose cached identity
 * expired (every active user within one TTL) keep being looked up (red team 17, F1). A random
 * token can never be one of them.
 */
export const RESERVED_LOOKUP_FRACTION = 0.25;

/**
 * The cache keys that resolved to a user, remembered past their cache entry's TTL: a digest of
 * each (so that a 16 KB masquerade key costs 22 bytes), the `capacity` most recent. One per thread.
 */
export class KnownTokens {
  readonly #digests: LRUCache<string, true>;

  constructor(capacity: number) {
    this.#digests = new LRUCache<string, true>({ max: Math.max(1, capacity) });
  }

  /** Remembers that `key` resolved to a user. */
  remember(key: string): void {
    this.#digests.set(digest(key), true);
  }

  /** Forgets `key` (its token was logged out: a dead token has no claim to a reserved place). */
  forget(key: string): void {
    this.#digests.delete(digest(key));
  }

  /** Whether `key` resolved to a user before (within the last `capacity` such keys). */
  has(key: string): boolean {
    return this.#digests.has(digest(key));
  }
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 22);
}
