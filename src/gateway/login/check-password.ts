/**
 * A managed user's password check as the gateway's request handlers need it: `authenticateUser`
 * in the offload pool, within the thread's {@link PasswordCheckLimits}, with the pool's refusals
 * turned into a local answer.
 */
import { hasErrorCode } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { warnThrottled } from '../../common/log-throttle.js';
import type { UserAuthConfig } from '../../common/config/types.js';
import { ErrCode } from '../../common/matrix-errors.js';
import type { SnapshotUser } from '../../policy/snapshot.js';
import { authenticateUser, type AuthOutcome } from '../../offload/authenticate.js';
import { OFFLOAD_ABORTED, OFFLOAD_BUSY, OFFLOAD_CLOSED, OFFLOAD_WAIT_EXPIRED, type OffloadBusyError, type OffloadPool } from '../../offload/pool.js';
import type { RestAuthCache } from '../../offload/rest-auth-cache.js';
import type { PasswordCheckOrigin } from './check-origin.js';
import { clientAddressKey } from './client-address-key.js';
import { localAnswer, type LocalAnswer } from './local-answer.js';
import { CHECK_LIMIT_RETRY_AFTER_MS, type PasswordCheckLimits } from './password-check-limits.js';

/** What a password check needs; one per gateway thread. */
export interface PasswordChecker {
  pool: OffloadPool;
  restCache: RestAuthCache;
  userAuth: UserAuthConfig;
  logger: Logger;
  /** The thread's limits on password checks (shared by every caller on the thread). */
  limits: PasswordCheckLimits;
}

/**
 * {@link AuthOutcome}, or `unavailable`: no verdict; answer `answer` (a 429 or 503). Also what a
 * check abandoned by its client (its `signal` aborted) comes back as; the caller, finding the
 * exchange closed, sends nothing.
 */
export type PasswordCheck = AuthOutcome | { readonly kind: 'unavailable'; readonly answer: LocalAnswer };

const CLOSED = localAnswer(503, ErrCode.Unknown, 'Corporal is shutting down; retry later', [['Retry-After', '1']]);
const WAIT_EXPIRED = localAnswer(503, ErrCode.Unknown, 'Password checks are overloaded; retry later', [['Retry-After', '1']]);
const limitExceeded = (message: string): LocalAnswer => localAnswer(
  429,
  ErrCode.LimitExceeded,
  message,
  [['Retry-After', String(Math.ceil(CHECK_LIMIT_RETRY_AFTER_MS / 1000))]],
  CHECK_LIMIT_RETRY_AFTER_MS,
);
const PER_USER_LIMIT = limitExceeded('Too many password checks in progress for this user; retry later');
const PER_ADDRESS_LIMIT = limitExceeded('Too many password checks in progress from this address; retry later');
/** Never sent (the client is gone); a value so that the callers need no extra case. */
const ABANDONED: PasswordCheck = Object.freeze({ kind: 'unavailable', answer: localAnswer(503, ErrCode.Unknown, 'The client left') });

/** What {@link checkPassword} needs to know of the request: where it comes from, and why. */
export interface PasswordCheckRequest extends PasswordCheckOrigin {
  /** Names the caller in logs (`login`, `uia`, `internal-rest-auth`). */
  purpose: string;
}

/**
 * Checks `password` for `user` (managed, not passthrough).
 *
 * Before the pool: a check whose client has already gone is not started. A client address (its
 * /64 for IPv6) with `MAX_CHECKS_PER_ADDRESS` checks already in the pool on this thread, and a user
 * with `MAX_CHECKS_PER_USER`, get 429 `M_LIMIT_EXCEEDED` with `retry_after_ms` at once, so that
 * neither attempts against one account nor one client's attempts against many can fill the queue
 * every user shares. The places are held until the pool lets go of the task (a running bcrypt
 * check whose client left still holds its worker slot until it ends).
 *
 * The pool then drops the check unrun if the client leaves while it waits, and answers 503 when it
 * has waited `limits.maxWaitMs`. Its other refusals are 503s too: {@link OFFLOAD_BUSY} carries
 * the pool's `Retry-After`, so clients back off instead of piling more bcrypt work on; {@link
 * OFFLOAD_CLOSED} means the thread is draining. Any other pool failure rejects (a bug). Refusals
 * are logged as one throttled warning (at most one per `REFUSED_LOG_INTERVAL_MS` per thread, with
 * how many were not logged) because any client can cause them at will. Wrong passwords and
 * authenticator errors are logged here (user and cause, never the password).
 */
export async function checkPassword(checker: PasswordChecker, user: SnapshotUser, password: string, request: PasswordCheckRequest): Promise<PasswordCheck> {
  const { logger, limits } = checker;
  const { purpose, signal } = request;
  if (signal?.aborted) return ABANDONED;
  const addressKey = request.clientAddress === null ? null : clientAddressKey(request.clientAddress);
  if (addressKey !== null && !limits.perAddress.tryAcquire(addressKey)) {
    // The address is named: it is what an operator blocks in front of the gateway, unless it is a
    // proxy of theirs that TrustedProxies does not list (the hint says so).
    warnRefused(checker, user, purpose, 'too many checks in flight from this client address', {
      clientAddress: request.clientAddress,
      ...(request.sentForwardedFor === true ? { hint: 'this address sent X-Forwarded-For: if it is a proxy of yours, list it in HttpGateway.TrustedProxies' } : {}),
    });
    return { kind: 'unavailable', answer: PER_ADDRESS_LIMIT };
  }
  if (!limits.perUser.tryAcquire(user.id)) {
    if (addressKey !== null) limits.perAddress.release(addressKey);
    warnRefused(checker, user, purpose, 'too many checks in flight for this user');
    return { kind: 'unavailable', answer: PER_USER_LIMIT };
  }
  let outcome: AuthOutcome;
  try {
    outcome = await authenticateUser(checker.pool, checker.restCache, user, password, checker.userAuth, { signal, maxWaitMs: limits.maxWaitMs });
  } catch (err) {
    if (hasErrorCode(err, OFFLOAD_ABORTED)) return ABANDONED;
    let answer: LocalAnswer;
    let reason: string;
    if (hasErrorCode(err, OFFLOAD_BUSY)) {
      const seconds = (err as OffloadBusyError).retryAfterSeconds;
      answer = localAnswer(503, ErrCode.Unknown, 'Too many password checks in progress; retry later', [['Retry-After', String(seconds)]]);
      reason = 'offload queue full';
    } else if (hasErrorCode(err, OFFLOAD_WAIT_EXPIRED)) {
      answer = WAIT_EXPIRED;
      reason = 'waited too long for the offload pool';
    } else if (hasErrorCode(err, OFFLOAD_CLOSED)) {
      answer = CLOSED;
      reason = 'offload pool closed';
    } else {
      throw err;
    }
    warnRefused(checker, user, purpose, reason);
    return { kind: 'unavailable', answer };
  } finally {
    limits.perUser.release(user.id);
    if (addressKey !== null) limits.perAddress.release(addressKey);
  }
  // One line per wrong password, with the client's address when known: what fail2ban reads (the
  // refusal warning above is throttled).
  if (outcome.kind === 'rejected') logger.info(request.clientAddress === null ? { userId: user.id, purpose } : { userId: user.id, purpose, clientAddress: request.clientAddress }, 'password check: failed authentication');
  else if (outcome.kind === 'error') warnThrottled(checker.limits.authenticatorErrorLog, logger, { userId: user.id, purpose, code: outcome.code, cause: outcome.message }, 'password check: authenticator error');
  else if (outcome.fromCache) logger.warn({ userId: user.id, purpose }, 'password check: accepted from the rest fallback cache (auth service unavailable)');
  return outcome;
}

/** The refusal warning, throttled; `suppressed` counts the refusals not logged since the last line. */
function warnRefused(checker: PasswordChecker, user: SnapshotUser, purpose: string, reason: string, extra: Record<string, unknown> = {}): void {
  warnThrottled(checker.limits.refusedLog, checker.logger, { userId: user.id, purpose, reason, ...extra }, 'password check refused');
}
