import { LRUCache } from 'lru-cache';

/** Resolves a room alias to a room id: null when the alias does not exist; rejects on failure. */
export type AliasLookup = (alias: string) => Promise<string | null>;

/** Options of {@link createAliasResolver}. */
export interface AliasResolverOptions {
  /** The directory look-up (it owns its timeout). */
  lookup: AliasLookup;
  /** How long an answer (found or not found) is reused. */
  ttlMs: number;
  /** Aliases kept. */
  maxEntries: number;
  /** The monotonic clock the TTL is measured with; default `performance`. */
  clock?: { now(): number };
}

/** Stored for "no such alias" (lru-cache cannot store null). */
const NOT_FOUND = '';

/**
 * A room-alias resolver for the join/knock checks: a small LRU with TTL in front of `lookup`, with
 * single-flight (concurrent checks of one alias share one look-up). Found and not-found answers
 * are cached for `ttlMs`; failures are not cached and resolve to null, which the checks refuse
 * (fail closed).
 *
 * The TTL bounds a race: an alias re-pointed at a managed room within `ttlMs` of a look-up is still
 * checked against the old room. Keep it short; repointing an alias needs rights in the target room.
 */
export function createAliasResolver(options: AliasResolverOptions): (alias: string) => Promise<string | null> {
  const cache = new LRUCache<string, string>({
    max: options.maxEntries,
    ttl: options.ttlMs,
    updateAgeOnGet: false,
    // ttlResolution 0: the clock is read on every check, never a cached reading.
    ttlResolution: 0,
    ...(options.clock === undefined ? {} : { perf: options.clock }),
    fetchMethod: async (alias) => (await options.lookup(alias)) ?? NOT_FOUND,
  });
  return async (alias) => {
    try {
      const roomId = await cache.fetch(alias);
      return roomId === undefined || roomId === NOT_FOUND ? null : roomId;
    } catch {
      return null;
    }
  };
}
