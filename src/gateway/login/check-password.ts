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
import { localAnswer, type LocalAnswer } from './local-answer.js';
import { PER_USER_RETRY_AFTER_MS, type PasswordCheckLimits } from './password-check-limits.js';

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
const PER_USER_LIMIT = localAnswer(
  429,
  ErrCode.LimitExceeded,
  'Too many password checks in progress for this user; retry later',
  [['Retry-After', String(Math.ceil(PER_USER_RETRY_AFTER_MS / 1000))]],
  PER_USER_RETRY_AFTER_MS,
);
/** Never sent (the client is gone); a value so that the callers need no extra case. */
const ABANDONED: PasswordCheck = Object.freeze({ kind: 'unavailable', answer: localAnswer(503, ErrCode.Unknown, 'The client left') });

/**
 * Checks `password` for `user` (managed, not passthrough). `purpose` names the caller in logs;
 * `signal` is the request's (`RequestContext.signal`): aborted once its client has gone.
 *
 * Before the pool: a check whose client has already gone is not started; a user with
 * `MAX_CHECKS_PER_USER` checks already in the pool on this thread gets 429 `M_LIMIT_EXCEEDED` with
 * `retry_after_ms` at once, so that attempts against one account cannot fill the queue every user
 * shares. The place is held until the pool lets go of the task (a running bcrypt check whose
 * client left still holds its worker slot until it ends).
 *
 * The pool then drops the check unrun if the client leaves while it waits, and answers 503 when it
 * has waited `limits.maxWaitMs`. Its other refusals are 503s too: {@link OFFLOAD_BUSY} carries
 * the pool's `Retry-After`, so clients back off instead of piling more bcrypt work on; {@link
 * OFFLOAD_CLOSED} means the thread is draining. Any other pool failure rejects (a bug). Refusals
 * are logged as one throttled warning (at most one per `REFUSED_LOG_INTERVAL_MS` per thread, with
 * how many were not logged) because any client can cause them at will. Wrong passwords and
 * authenticator errors are logged here (user and cause, never the password).
 */
export async function checkPassword(
  checker: PasswordChecker,
  user: SnapshotUser,
  password: string,
  purpose: string,
  signal?: AbortSignal,
): Promise<PasswordCheck> {
  const { logger, limits } = checker;
  if (signal?.aborted) return ABANDONED;
  if (!limits.perUser.tryAcquire(user.id)) {
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
  }
  if (outcome.kind === 'rejected') logger.info({ userId: user.id, purpose }, 'password check: failed authentication');
  else if (outcome.kind === 'error') logger.warn({ userId: user.id, purpose, code: outcome.code, cause: outcome.message }, 'password check: authenticator error');
  else if (outcome.fromCache) logger.warn({ userId: user.id, purpose }, 'password check: accepted from the rest fallback cache (auth service unavailable)');
  return outcome;
}

/** The refusal warning, throttled; `suppressed` counts the refusals not logged since the last line. */
function warnRefused(checker: PasswordChecker, user: SnapshotUser, purpose: string, reason: string): void {
  warnThrottled(checker.limits.refusedLog, checker.logger, { userId: user.id, purpose, reason }, 'password check refused');
}
