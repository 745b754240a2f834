import type { Dispatcher, Pool } from 'undici';

/** How often a gateway thread looks at its uncapped pool for dead weight. */
export const RECYCLE_CHECK_INTERVAL_MS = 60_000;

/**
 * Client objects without a connection that the pool may carry before it is replaced. Each costs
 * about 1.7 KB of heap, so this bounds the dead weight to well under 1 MiB per thread.
 */
export const RECYCLE_IDLE_CLIENTS = 256;

/**
 * An undici pool without a connection cap that does not keep the high-water mark of a burst.
 *
 * undici's `Pool` adds a `Client` whenever all of its Clients are busy and removes one only when
 * its connection fails to open: after a disconnect (the keep-alive timeout) the `Client` stays in
 * the pool's array for good. With no cap, a single burst of P concurrent long-polls or uploads
 * (a reconnect storm after a restart, a client flood) would leave P Clients in the thread for its
 * lifetime, and every later dispatch scans past the busy ones at the front (soak 9, finding 2).
 * (undici's own `clientTtl` retires Clients by age from their connect, busy and healthy keep-alive
 * connections too, so it would trade this waste for needless reconnects under steady load.)
 *
 * Every {@link RECYCLE_CHECK_INTERVAL_MS} (and on {@link recycleIfWasteful}), when more than
 * `idleClientLimit` (default {@link RECYCLE_IDLE_CLIENTS}) of the pool's Clients have no connection, new requests go to a
 * fresh pool and the old one is closed: its running requests finish on their own connections,
 * then it releases everything. Nothing in flight is touched.
 */
export class RecyclingPool {
  private current: Pool;
  /** Distinct Clients of `current` that have connected at least once. */
  private clientsOfCurrent = 0;
  private seenClients = new WeakSet<object>();
  private readonly retiring = new Set<Pool>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  /**
   * @param createPool makes a pool (uncapped, same options each time); called now and on each
   *   replacement.
   * @param idleClientLimit Client objects without a connection tolerated before a replacement.
   */
  constructor(
    private readonly createPool: () => Pool,
    private readonly idleClientLimit = RECYCLE_IDLE_CLIENTS,
  ) {
    this.current = this.openPool();
    this.timer = setInterval(() => this.recycleIfWasteful(), RECYCLE_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** Sends a request through the current pool (undici's `Dispatcher.dispatch` contract). */
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.current.dispatch(options, handler);
  }

  /** Client objects of the current pool that have connected at least once. */
  get clientCount(): number {
    return this.clientsOfCurrent;
  }

  /** Pools replaced but still finishing their running requests. */
  get retiringCount(): number {
    return this.retiring.size;
  }

  /** Connected Clients of the current pool (walks them: for checks and tests, not per request). */
  get connectedCount(): number {
    return this.current.stats.connected;
  }

  /**
   * Replaces the current pool if more than the limit of its Clients have no connection.
   * Returns whether it did. Counting connections walks the pool's Clients once, which is why
   * this runs on a timer and not per request.
   */
  recycleIfWasteful(): boolean {
    if (this.closed) return false;
    const unconnected = this.clientsOfCurrent - this.current.stats.connected;
    if (unconnected <= this.idleClientLimit) return false;
    let fresh: Pool;
    try {
      fresh = this.openPool();
    } catch {
      return false; // keep serving from the pool there is; the next check tries again
    }
    const old = this.current;
    this.current = fresh;
    this.retiring.add(old);
    // close() lets running requests finish (a streamed upload may take long); the old pool and
    // its Clients are released when they have.
    old.close().catch(() => undefined).finally(() => this.retiring.delete(old));
    return true;
  }

  /** Waits for running requests of every pool to finish, then closes every connection. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all([this.current.close(), ...[...this.retiring].map((pool) => pool.close().catch(() => undefined))]);
  }

  /** Aborts everything at once (a crashing thread). */
  async destroy(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all([this.current.destroy(), ...[...this.retiring].map((pool) => pool.destroy().catch(() => undefined))]);
  }

  private openPool(): Pool {
    const pool = this.createPool();
    this.clientsOfCurrent = 0;
    this.seenClients = new WeakSet();
    // A pool's events carry [pool, client]: count each Client once, on its first connection,
    // and forget it when undici drops it after a failed connection attempt.
    pool.on('connect', (_origin, targets) => {
      if (pool !== this.current) return;
      const client = targets[targets.length - 1]!;
      if (this.seenClients.has(client)) return;
      this.seenClients.add(client);
      this.clientsOfCurrent++;
    });
    pool.on('connectionError', (_origin, targets) => {
      if (pool !== this.current) return;
      const client = targets[targets.length - 1]!;
      if (!this.seenClients.delete(client)) return;
      this.clientsOfCurrent--;
    });
    return pool;
  }
}
