/**
 * The bounds a gateway thread puts on password checks before and while they use its offload pool
 * (red team 4, F3: wrong-password logins for one user, from clients that left at once, filled the
 * shared queue and made every managed login answer 503).
 */
import { CLIENT_TRIGGERED_LOG_INTERVAL_MS, LogThrottle } from '../../common/log-throttle.js';
import { InFlightPerKey } from '../in-flight-per-key.js';

/**
 * Checks per user id, queued or running, one gateway thread may have in the pool. Two lets a user
 * log in from a second device (or retry) while a first check runs; beyond that a single targeted
 * account cannot take more than two places in the queue every user shares. Its own further
 * attempts get 429 (Synapse's `rc_login` limits a targeted account the same way).
 */
export const MAX_CHECKS_PER_USER = 2;

/**
 * Checks per client address (an IPv6 client's /64: `client-address-key.ts`), queued or running, one
 * gateway thread may have in the pool (red team 6, F1). The per-user bound alone let one client
 * spread wrong-password logins over many managed users and fill the queue all the same: Synapse's
 * own `rc_login` limits never see those attempts before the gateway has spent a bcrypt check on
 * each. Four lets a few people behind one NAT log in at the same moment; Synapse's default
 * `rc_login.address` (a burst of 5, then one attempt every few minutes) is far stricter.
 */
export const MAX_CHECKS_PER_ADDRESS = 4;

/** `retry_after_ms` of the per-user and per-address 429s: about the time a bcrypt check at a usual cost takes, with margin. */
export const CHECK_LIMIT_RETRY_AFTER_MS = 1000;

/** At most one "password check refused" warning per this interval per thread, with a count of the rest. */
export const REFUSED_LOG_INTERVAL_MS = CLIENT_TRIGGERED_LOG_INTERVAL_MS;

/** See the module comment. One per gateway thread, shared by login, UIA and internal REST auth. */
export interface PasswordCheckLimits {
  /** Checks in flight per user id ({@link MAX_CHECKS_PER_USER}). */
  readonly perUser: InFlightPerKey;
  /** Checks in flight per client address key ({@link MAX_CHECKS_PER_ADDRESS}). */
  readonly perAddress: InFlightPerKey;
  /** Longest wait of a check for a pool worker before it is answered 503. */
  readonly maxWaitMs: number;
  /** Throttles the "password check refused" warning. */
  readonly refusedLog: LogThrottle;
  /** Throttles the "authenticator error" warning: while a REST auth service is down, any password typed for its users writes one. */
  readonly authenticatorErrorLog: LogThrottle;
}

/**
 * Builds a thread's limits. `maxWaitMs` is `Matrix.TimeoutMilliseconds`: the operator's bound on
 * how long a client waits for the server side of its request to start answering. A password check
 * is server-side work on the login's path like Synapse's own, so it gets the same patience; and as
 * `HttpGateway.TimeoutMilliseconds` ≥ `Matrix.TimeoutMilliseconds`, a check that has waited that
 * long is answered well before the exchange would be cut.
 */
export function createPasswordCheckLimits(maxWaitMs: number, now?: () => number): PasswordCheckLimits {
  return {
    perUser: new InFlightPerKey(MAX_CHECKS_PER_USER),
    perAddress: new InFlightPerKey(MAX_CHECKS_PER_ADDRESS),
    maxWaitMs,
    refusedLog: new LogThrottle(REFUSED_LOG_INTERVAL_MS, now),
    authenticatorErrorLog: new LogThrottle(REFUSED_LOG_INTERVAL_MS, now),
  };
}
