import type { RequestContext } from '../request-context.js';
import type { TrustedProxies } from './forwarded-for.js';
import { countedClientKey } from '../login/check-origin.js';
import { InFlightPerKey } from '../in-flight-per-key.js';

/** One requester may hold at most 1/n of the main pool's connections per thread (red team 17, F3). */
export const MAIN_POOL_SHARE_DIVISOR = 8;

/**
 * A requester's share of the capped `main` pool (`ProxySettings.mainPoolShare`). A response held
 * back by a client that does not read it (a large media download) holds its upstream connection;
 * one user with a few hundred such downloads held every `main` connection of a thread while
 * everyone else's requests queued (red team 17, F3). A requester past its share is sent through
 * the uncapped pool instead, where it holds nobody up.
 */
export interface MainPoolShare {
  /**
   * Who the request counts against: its user, else its client's address (an IPv6 /64), else null
   * (no share: the address is a trusted proxy's, whose clients cannot be told apart). User ids
   * start with `@` and address keys never do, so the two cannot collide.
   */
  key(ctx: RequestContext): string | null;
  readonly places: InFlightPerKey;
}

/** The share for a thread whose main pool has `connections` (`HttpGateway.UpstreamConnections`). */
export function createMainPoolShare(connections: number, trustedProxies: TrustedProxies): MainPoolShare {
  return {
    places: new InFlightPerKey(Math.max(1, Math.floor(connections / MAIN_POOL_SHARE_DIVISOR))),
    key(ctx) {
      if (ctx.identity.kind === 'user') return ctx.identity.userId;
      return countedClientKey(ctx.headers, ctx.remoteAddress, trustedProxies);
    },
  };
}
