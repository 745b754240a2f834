import { Pool, type Dispatcher } from 'undici';
import type { CorporalConfig } from '../../common/config/types.js';
import { ownCallsDispatcher } from '../../common/own-forwarded-for.js';
import { RecyclingPool } from './recycling-pool.js';
import { parseUpstreamTarget, type UpstreamTarget } from './target.js';

/**
 * Connections of the pool for the gateway's own calls (token look-ups, check reads, logouts).
 * They are short and frequent; a small cap keeps a flood of them (random tokens) from taking more
 * of the homeserver than this, while proxied requests never queue behind them.
 */
export const INTERNAL_CONNECTIONS = 32;

/**
 * The upstream connections of one gateway thread: three undici pools to the homeserver, all
 * keep-alive with pipelining 1 (a slow response must never hold up another request queued
 * behind it on the same connection).
 *
 * - `main`: proxied requests that answer promptly (no body, or a body already buffered for a
 *   check or hook), at most `HttpGateway.UpstreamConnections` connections; requests beyond that
 *   queue in the pool.
 * - `uncapped`: proxied requests whose connection is held for as long as the client decides:
 *   long-polls (`/sync`, sliding sync, `/events`) and request bodies streamed from the client. No
 *   connection cap. A long-poll holds its connection for up to its `timeout` (typically 30 s)
 *   while doing no work, and a streamed upload for as long as the client takes to send it (Synapse
 *   reads a whole body before it even authenticates the request). In a capped pool a few hundred
 *   of them, from one unauthenticated client, would queue every other user's requests for as long
 *   as they last (red team 4, F4). matrix-corporal (Go's default transport) caps nothing either;
 *   their number is bounded by the clients connected. A {@link RecyclingPool}, so that the
 *   largest burst does not stay in the thread's heap.
 * - `internal`: the gateway's own calls, {@link INTERNAL_CONNECTIONS} connections, so that proxied
 *   requests never wait behind token look-ups (red team 4, F1). Over a Unix socket it adds
 *   Corporal's own `X-Forwarded-For` (common/own-forwarded-for.ts).
 */
export class UpstreamPools {
  readonly target: UpstreamTarget;
  readonly main: Pool;
  readonly uncapped: RecyclingPool;
  readonly internal: Dispatcher;
  private readonly internalPool: Pool;

  constructor(config: CorporalConfig) {
    this.target = parseUpstreamTarget(config.Matrix.HomeserverApiEndpoint);
    const timeoutMs = config.Matrix.TimeoutMilliseconds;
    const common = {
      pipelining: 1,
      connectTimeout: timeoutMs,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      // Idle connections are dropped well before Twisted's own idle timeout (60 s), so that a
      // request is never sent on a connection the homeserver is just closing.
      keepAliveTimeout: 4_000,
      // `Matrix.HomeserverApiSocketPath`: the same origin (Host header), reached over a Unix socket.
      ...(config.Matrix.HomeserverApiSocketPath ? { socketPath: config.Matrix.HomeserverApiSocketPath } : {}),
    };
    this.main = new Pool(this.target.origin, { ...common, connections: config.HttpGateway.UpstreamConnections });
    this.uncapped = new RecyclingPool(() => new Pool(this.target.origin, { ...common, connections: null }));
    this.internalPool = new Pool(this.target.origin, { ...common, connections: INTERNAL_CONNECTIONS });
    this.internal = ownCallsDispatcher(this.internalPool, config.Matrix.HomeserverApiSocketPath);
  }

  /** Waits for running requests to finish, then closes every connection. */
  async close(): Promise<void> {
    await Promise.all([this.main.close(), this.uncapped.close(), this.internalPool.close()]);
  }

  /** Aborts everything at once (a crashing thread). */
  async destroy(): Promise<void> {
    await Promise.all([this.main.destroy(), this.uncapped.destroy(), this.internalPool.destroy()]);
  }
}
