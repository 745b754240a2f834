/**
 * Counts operations in flight per key (a user id, a client address) and refuses a new one past a fixed limit. One
 * per gateway thread; not shared across threads.
 */

/** See the module comment. A key's entry exists only while it has operations in flight. */
export class InFlightPerKey {
  readonly #counts = new Map<string, number>();

  /** At most `limit` (≥ 1) operations in flight per key. */
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`in-flight limit must be a positive integer, got ${limit}`);
  }

  /** Takes a place for `key`: true when one was free (then {@link release} it exactly once), false at the limit. */
  tryAcquire(key: string): boolean {
    const count = this.#counts.get(key) ?? 0;
    if (count >= this.limit) return false;
    this.#counts.set(key, count + 1);
    return true;
  }

  /** Gives back a place taken by {@link tryAcquire}. */
  release(key: string): void {
    const count = this.#counts.get(key) ?? 0;
    if (count <= 1) this.#counts.delete(key);
    else this.#counts.set(key, count - 1);
  }

  /** Operations in flight for `key`. */
  inFlight(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  /** Keys with operations in flight (diagnostics and tests). */
  get size(): number {
    return this.#counts.size;
  }
}
