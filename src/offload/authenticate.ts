/**
 * Gateway-side password authentication of a managed user: runs the check in the offload pool and
 * applies the `rest` cache fallback. Login and the internal REST auth endpoint call this.
 */
import { hasErrorCode } from '../common/errors.js';
import type { UserAuthConfig } from '../common/config/types.js';
import type { SnapshotUser } from '../policy/snapshot.js';
import { OFFLOAD_TASK_FAILED, type OffloadPool, type OffloadRunOptions } from './pool.js';
import type { RestAuthCache } from './rest-auth-cache.js';
import type { VerifyPasswordErrorCode, VerifyPasswordResult } from './verify-result.js';

/**
 * The verdict on a password:
 * - `authenticated`: right password. `displayName` comes from a `rest` service's answer;
 *   `fromCache` is set when the service was unavailable and the fallback cache vouched for it.
 * - `rejected`: wrong (or empty) password — matrix-corporal's 403 "Failed authentication".
 * - `error`: the password could not be checked (`code` says why; the message is safe to log) —
 *   matrix-corporal's "Internal authenticator error".
 */
export type AuthOutcome =
  | { kind: 'authenticated'; displayName?: string; fromCache?: true }
  | { kind: 'rejected' }
  | { kind: 'error'; code: VerifyPasswordErrorCode | typeof OFFLOAD_TASK_FAILED; message: string };

/**
 * Checks `password` for `user` (a managed user whose `authType` is not `passthrough`; callers
 * decide about unmanaged, inactive and passthrough users before this).
 *
 * The `rest` fallback, only when `config.RestCacheFallback` is on: a success is remembered in
 * `cache`; a `success: false` answer evicts the combination; when the service is *unavailable*
 * (unreachable, timed out, 5xx) an unexpired remembered success for the same user, password and
 * URL authenticates. A service that answers badly or says no never falls back.
 *
 * `run` goes to {@link OffloadPool.run}: the caller's abort signal (its client left) and the longest
 * wait for a worker. Rejects only when the pool did not run the task or dropped its result: with
 * the `CORP_ERR_OFFLOAD_BUSY` (`OffloadBusyError`, 503 + Retry-After), `CORP_ERR_OFFLOAD_CLOSED`
 * (503), `CORP_ERR_OFFLOAD_WAIT_EXPIRED` (503) or `CORP_ERR_OFFLOAD_ABORTED` (nothing to answer)
 * error of {@link OffloadPool.run}; the cache is then left untouched.
 */
export async function authenticateUser(
  pool: OffloadPool,
  cache: RestAuthCache,
  user: SnapshotUser,
  password: string,
  config: UserAuthConfig,
  run: OffloadRunOptions = {},
): Promise<AuthOutcome> {
  let result: VerifyPasswordResult;
  try {
    result = await pool.run('verifyPassword', {
      authType: user.authType,
      credential: user.authCredential,
      password,
      userId: user.id,
      restTimeoutMs: config.RestTimeoutMilliseconds,
    }, run);
  } catch (err) {
    if (!hasErrorCode(err, OFFLOAD_TASK_FAILED)) throw err;
    return { kind: 'error', code: OFFLOAD_TASK_FAILED, message: (err as Error).message };
  }
  const isCachedRest = user.authType === 'rest' && config.RestCacheFallback;
  if (result.ok) {
    const { authenticated, displayName } = result.value;
    if (!authenticated) {
      if (isCachedRest) cache.forget(user.id, password, user.authCredential);
      return { kind: 'rejected' };
    }
    if (isCachedRest) cache.remember(user.id, password, user.authCredential, displayName === undefined ? {} : { displayName });
    return displayName === undefined ? { kind: 'authenticated' } : { kind: 'authenticated', displayName };
  }
  if (isCachedRest && result.code === 'auth-service-unavailable') {
    const cached = cache.recall(user.id, password, user.authCredential);
    if (cached) {
      return cached.displayName === undefined
        ? { kind: 'authenticated', fromCache: true }
        : { kind: 'authenticated', displayName: cached.displayName, fromCache: true };
    }
  }
  return { kind: 'error', code: result.code, message: result.message };
}
