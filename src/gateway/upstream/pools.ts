import { Pool, type Dispatcher } from 'undici';
import { ownCallsDispatcher } from '../../common/own-forwarded-for.js';
import type { CorporalConfig } from '../../common/config/types.js';
import { parseUpstreamTarget, type UpstreamTarget } from './target.js';

/**
 * The upstream connections of one gateway thread: two undici pools to the homeserver, both
 * keep-alive with pipelining 1 (a slow response must never hold up another request queued
 * behind it on the same connection).
 *
 * - `main`: every request but long-polls, at most `HttpGateway.UpstreamConnections` connections;
 *   requests beyond that queue in the pool.
 * - `longPoll`: `/sync`, sliding sync and `/events`, without a connection cap. A long-poll holds
 *   its connection for up to its `timeout` (typically 30 s) while doing no work, so capping them
 *   would let a few hundred idle syncs queue every other user's sync for tens of seconds (and
 *   starve the main pool if they shared it). matrix-corporal (Go's default transport) does not
 *   cap connections either. The number of long-polls is bounded by the clients connected.
 */
export class UpstreamPools {
  readonly target: UpstreamTarget;
  readonly main: Pool;
  readonly longPoll: Pool;
  /**
   * `main` for the gateway's own calls (whoami look-ups, check reads, logouts of refused sessions),
   * which carry no client `X-Forwarded-For`: over a Unix socket it adds Corporal's own (see
   * common/own-forwarded-for.ts). Proxied requests always carry the client's and use `main`.
   */
  readonly internal: Dispatcher;

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
    this.longPoll = new Pool(this.target.origin, { ...common, connections: null });
    this.internal = ownCallsDispatcher(this.main, config.Matrix.HomeserverApiSocketPath);
  }

  /** Waits for running requests to finish, then closes every connection. */
  async close(): Promise<void> {
    await Promise.all([this.main.close(), this.longPoll.close()]);
  }

  /** Aborts everything at once (a crashing thread). */
  async destroy(): Promise<void> {
    await Promise.all([this.main.destroy(), this.longPoll.destroy()]);
  }
}
