/**
 * The internal REST auth endpoint's async shell: enabled switch, source address, decision, the
 * bound on wrong passwords (failed-attempts.ts), password check in the offload pool.
 */
import type { InternalRestAuthConfig } from '../../common/config/types.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import { checkPassword, type PasswordChecker } from '../login/check-password.js';
import { localAnswer, type LocalAnswer } from '../login/local-answer.js';
import { createSourceAddressFilter } from './source-address-filter.js';
import { CLIENT_TRIGGERED_LOG_INTERVAL_MS, LogThrottle, warnThrottled } from '../../common/log-throttle.js';
import { CREDENTIALS_REJECTED_JSON, credentialsAcceptedJson, decideCheckCredentials, INTERNAL_AUTH_ERRORS } from './check-credentials.js';
import { FailedAttempts } from './failed-attempts.js';
import { timingSafeEqual } from 'node:crypto';
import { derivedPassword } from '../../common/derived-password.js';
import { ErrCode } from '../../common/matrix-errors.js';

/** What the endpoint needs; built once per gateway thread. */
export interface InternalAuthOptions extends PasswordChecker {
  /** `HttpGateway.InternalRESTAuth`. */
  config: InternalRestAuthConfig;
  /** `Matrix.HomeserverDomainName`. */
  domain: string;
  /** `Matrix.AuthSharedSecret`: the derived passwords the gateway itself hands Synapse are no guesses. */
  authSharedSecret: string;
  /** Wrong passwords per user (default: Synapse's `rc_login.failed_attempts` numbers). */
  failedAttempts?: FailedAttempts;
}

/** The answer: 200 with a JSON body (`application/json`), or a Matrix error. */
export type InternalAuthAnswer =
  | { readonly kind: 'json'; readonly status: 200; readonly body: string }
  | { readonly kind: 'error'; readonly answer: LocalAnswer };

/** The endpoint, in the two steps matrix-corporal takes them. */
export interface InternalAuthHandler {
  /**
   * The checks made before the body is read: not enabled (only `Enabled: true` enables) → 403;
   * `peerAddress` (the TCP peer's, as `gateway/peer-address.ts` formats uWS' `getRemoteAddress`:
   * an IPv4-mapped IPv6 address becomes plain IPv4) refused, or the request `forwarded` by a
   * reverse proxy (see `createSourceAddressFilter`) → 403. Null: go on.
   */
  refuse(peerAddress: string, forwarded: boolean): LocalAnswer | null;
  /**
   * Answers the whole body under the snapshot pinned for the request: {@link decideCheckCredentials},
   * then the password check: right → 200 success with the policy's MXID and display name; wrong →
   * 200 `{"auth":{"success":false}}` (matrix-corporal answered 500 for a wrong bcrypt password);
   * authenticator error → 500; too many checks in flight, or too many wrong passwords lately
   * (failed-attempts.ts), for the user → 429; pool busy, closed or too slow
   * → 503 + `Retry-After`. `signal` (the request's) drops a check still waiting for the pool when
   * the caller leaves.
   */
  check(body: Uint8Array, snapshot: PolicySnapshot | null, signal?: AbortSignal): Promise<InternalAuthAnswer>;
}

const REJECTED: InternalAuthAnswer = Object.freeze({ kind: 'json', status: 200, body: CREDENTIALS_REJECTED_JSON });

/** Builds the handler; throws for an invalid allow-list entry. */
export function createInternalAuthHandler(options: InternalAuthOptions): InternalAuthHandler {
  const { config, domain, logger } = options;
  const enabled = config.Enabled === true;
  const isAllowedSource = createSourceAddressFilter(config);
  // Any client can cause a refusal: behind the usual reverse proxy every request to the path is a
  // forwarded one. Throttled, so that a stream of them cannot flood the log.
  const refusedLog = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);
  const failedAttempts = options.failedAttempts ?? new FailedAttempts();
  const tooManyFailuresLog = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);
  return {
    refuse(peerAddress, forwarded) {
      if (!enabled) return INTERNAL_AUTH_ERRORS.disabled;
      if (isAllowedSource(peerAddress, forwarded)) return null;
      warnThrottled(refusedLog, logger, { peerAddress, forwarded }, 'internal REST auth refused: source address not allowed');
      return INTERNAL_AUTH_ERRORS['bad-source-ip'];
    },
    async check(body, snapshot, signal) {
      const decision = decideCheckCredentials(body, snapshot, domain);
      if (decision.kind === 'error') return { kind: 'error', answer: decision.answer };
      if (decision.kind === 'rejected') {
        logger.debug({ reason: decision.reason }, 'internal REST auth: rejected without a password check');
        return REJECTED;
      }
      const userId = decision.user.id;
      // A login or UIA stage the gateway passed on carries the user's derived password, and Synapse
      // asks its password modules (this endpoint, when the REST module is kept) before its own
      // database: answered "no" as always, but not counted, or every third login would lock the user.
      if (isDerivedPassword(options.authSharedSecret, userId, decision.password)) return REJECTED;
      const taken = failedAttempts.take(userId);
      if (!taken.allowed) {
        warnThrottled(tooManyFailuresLog, logger, { userId }, 'internal REST auth: too many wrong passwords for a user; checks refused (429) for a while');
        return { kind: 'error', answer: tooManyFailures(taken.waitMs) };
      }
      // The caller is Synapse (its password provider), not the client: there is no client address
      // to count by, only the per-user bounds.
      const check = await checkPassword(options, decision.user, decision.password, { purpose: 'internal-rest-auth', signal, clientAddress: null });
      // Only a wrong password keeps the share it took.
      if (check.kind !== 'rejected') failedAttempts.refund(userId, taken.ticket);
      switch (check.kind) {
        case 'authenticated':
          return { kind: 'json', status: 200, body: credentialsAcceptedJson(decision.user) };
        case 'rejected':
          return REJECTED;
        case 'error':
          return { kind: 'error', answer: INTERNAL_AUTH_ERRORS['authenticator-error'] };
        case 'unavailable':
          return { kind: 'error', answer: check.answer };
      }
    },
  };
}

/** 429 `M_LIMIT_EXCEEDED` for a user over the wrong-password bound, with the wait until the next check. */
function tooManyFailures(waitMs: number): LocalAnswer {
  return localAnswer(429, ErrCode.LimitExceeded, 'Too many wrong passwords for this user; retry later', [['Retry-After', String(Math.ceil(waitMs / 1000))]], waitMs);
}

/** Whether `password` is `userId`'s derived password (compared in constant time). */
function isDerivedPassword(authSharedSecret: string, userId: string, password: string): boolean {
  const expected = Buffer.from(derivedPassword(authSharedSecret, userId), 'utf8');
  const given = Buffer.from(password, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
