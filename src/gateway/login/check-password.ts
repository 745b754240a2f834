/**
 * A managed user's password check as the gateway's request handlers need it: `authenticateUser`
 * in the offload pool, with the pool's refusals turned into a local answer.
 */
import { hasErrorCode } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { UserAuthConfig } from '../../common/config/types.js';
import { ErrCode } from '../../common/matrix-errors.js';
import type { SnapshotUser } from '../../policy/snapshot.js';
import { authenticateUser, type AuthOutcome } from '../../offload/authenticate.js';
import { OFFLOAD_BUSY, OFFLOAD_CLOSED, type OffloadBusyError, type OffloadPool } from '../../offload/pool.js';
import type { RestAuthCache } from '../../offload/rest-auth-cache.js';
import { localAnswer, type LocalAnswer } from './local-answer.js';

/** What a password check needs; one per gateway thread. */
export interface PasswordChecker {
  pool: OffloadPool;
  restCache: RestAuthCache;
  userAuth: UserAuthConfig;
  logger: Logger;
}

/** {@link AuthOutcome}, or `unavailable`: the pool did not take the check; answer `answer` (503). */
export type PasswordCheck = AuthOutcome | { readonly kind: 'unavailable'; readonly answer: LocalAnswer };

const CLOSED = localAnswer(503, ErrCode.Unknown, 'Corporal is shutting down; retry later', [['Retry-After', '1']]);

/**
 * Checks `password` for `user` (managed, not passthrough). `purpose` names the caller in logs.
 * The pool refusing the task becomes `unavailable` with a 503: {@link OFFLOAD_BUSY} carries the
 * pool's `Retry-After`, so clients back off instead of piling more bcrypt work on; {@link
 * OFFLOAD_CLOSED} means the thread is draining. Any other pool failure rejects (a bug). Wrong
 * passwords and authenticator errors are logged here (user and cause, never the password).
 */
export async function checkPassword(checker: PasswordChecker, user: SnapshotUser, password: string, purpose: string): Promise<PasswordCheck> {
  const { logger } = checker;
  let outcome: AuthOutcome;
  try {
    outcome = await authenticateUser(checker.pool, checker.restCache, user, password, checker.userAuth);
  } catch (err) {
    let answer: LocalAnswer;
    if (hasErrorCode(err, OFFLOAD_BUSY)) {
      const seconds = (err as OffloadBusyError).retryAfterSeconds;
      answer = localAnswer(503, ErrCode.Unknown, 'Too many password checks in progress; retry later', [['Retry-After', String(seconds)]]);
    } else if (hasErrorCode(err, OFFLOAD_CLOSED)) {
      answer = CLOSED;
    } else {
      throw err;
    }
    logger.warn({ userId: user.id, purpose }, 'password check refused: offload pool unavailable');
    return { kind: 'unavailable', answer };
  }
  if (outcome.kind === 'rejected') logger.info({ userId: user.id, purpose }, 'password check: failed authentication');
  else if (outcome.kind === 'error') logger.warn({ userId: user.id, purpose, code: outcome.code, cause: outcome.message }, 'password check: authenticator error');
  else if (outcome.fromCache) logger.warn({ userId: user.id, purpose }, 'password check: accepted from the rest fallback cache (auth service unavailable)');
  return outcome;
}
