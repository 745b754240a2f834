/**
 * Result values of a password check, shared by every authenticator. A check *returns* these (never
 * throws for an expected outcome) because it runs in a pool worker, and thrown errors lose their
 * properties on the way back.
 */
import type { TaskResult } from './task-types.js';

/**
 * Why a password could not be checked at all (as opposed to "checked, and wrong"):
 * - `invalid-credential`: the policy's credential for this auth type is malformed (bad hex, wrong
 *   digest length, malformed bcrypt hash, unusable URL). An operator error.
 * - `password-too-long`: the password exceeds {@link MAX_PASSWORD_BYTES}; refused before any work.
 * - `unsupported-auth-type`: `passthrough` (Synapse checks those itself) or an unknown type.
 * - `auth-service-unavailable`: a `rest` service could not be reached, timed out or answered 5xx.
 * - `auth-service-bad-response`: a `rest` service answered, but not with the protocol's 200 + JSON.
 */
export type VerifyPasswordErrorCode =
  | 'invalid-credential'
  | 'password-too-long'
  | 'unsupported-auth-type'
  | 'auth-service-unavailable'
  | 'auth-service-bad-response';

/** A completed check. `displayName` is only ever set by a `rest` service that returned one. */
export interface VerifyPasswordValue {
  authenticated: boolean;
  displayName?: string;
}

/** What a password check returns. */
export type VerifyPasswordResult = TaskResult<VerifyPasswordValue, VerifyPasswordErrorCode>;

/**
 * Longest password (UTF-8 bytes) any authenticator looks at. matrix-corporal applies this bound to
 * bcrypt only; Corporal applies it to every type so that no authenticator hashes or forwards
 * arbitrarily large client input.
 */
export const MAX_PASSWORD_BYTES = 4096;

/** A completed check with the given answer. */
export function verified(authenticated: boolean, displayName?: string): VerifyPasswordResult {
  return displayName === undefined ? { ok: true, value: { authenticated } } : { ok: true, value: { authenticated, displayName } };
}

/** A check that could not be done. `message` must not contain the password or the credential. */
export function verifyFailure(code: VerifyPasswordErrorCode, message: string): VerifyPasswordResult {
  return { ok: false, code, message };
}
