/**
 * The check on Synapse's answer to a login Corporal forwarded without rewriting it (token, 3PID,
 * unmanaged and passthrough logins). Synapse decides who those log in; an inactive managed user
 * must not leave with a session, whatever the path (matrix-corporal let SSO and 3PID logins of
 * inactive users through unchecked).
 */
import type { PolicySnapshot } from '../../policy/snapshot.js';
import { ErrCode } from '../../common/matrix-errors.js';
import { isJsonObject, parseJsonObject } from '../json-body.js';
import { LOGIN_DENIALS } from './login-answers.js';
import type { LoginProxyReason } from './login-decision.js';
import { findManagedUser } from '../identity/managed-user.js';
import { localAnswer, type LocalAnswer } from './local-answer.js';

/** Answer when a 200 from `/login` cannot be read: its session cannot be vetted, so it is not handed out. */
export const UNREADABLE_LOGIN_RESPONSE = localAnswer(502, ErrCode.Unknown, 'Unreadable login response from the homeserver');

/**
 * - `pass`: send Synapse's answer to the client as it is;
 * - `refuse`: log `accessToken` out upstream (when there is one) and answer `answer` instead.
 *   `userId` is whom Synapse logged in, when readable (for the log line).
 */
export type LoginResponseVerdict =
  | { readonly kind: 'pass'; readonly session?: LoginSession }
  | { readonly kind: 'refuse'; readonly accessToken: string | null; readonly userId: string | null; readonly answer: LocalAnswer };

const PASS: LoginResponseVerdict = Object.freeze({ kind: 'pass' });

/**
 * A login whose answer {@link inspectLoginResponse} vets: forwarded as sent (by its reason), or
 * `verified-password` (a managed user's right policy password, forwarded with the derived one).
 */
export type VettedLogin = LoginProxyReason | 'verified-password';

/** The session a login answer passed on to its client created: whom Synapse logged in, with which token and device. */
export interface LoginSession {
  readonly accessToken: string;
  readonly userId: string;
  readonly deviceId: string | null;
  /** The token's lifetime when it expires (a login with `refresh_token`: `expires_in_ms`), else null. */
  readonly expiresInMs: number | null;
}

/** A 200 that passes: with its session when the answer names a token (it always does from Synapse). */
function passWith(accessToken: string | null, userId: string, parsed: unknown): LoginResponseVerdict {
  if (accessToken === null) return PASS;
  const expires = isJsonObject(parsed) ? parsed['expires_in_ms'] : undefined;
  const expiresInMs = typeof expires === 'number' && Number.isFinite(expires) && expires > 0 ? expires : null;
  return { kind: 'pass', session: { accessToken, userId, deviceId: stringField(parsed, 'device_id'), expiresInMs } };
}

/**
 * Inspects Synapse's login answer (`status` and the whole, uncompressed body). Anything but 200
 * passes (no session was created). A 200 must be a JSON object with a string `user_id`; if not,
 * it is refused with {@link UNREADABLE_LOGIN_RESPONSE} (fail closed). A `user_id` naming an
 * inactive managed user (compared case-insensitively) is refused with matrix-corporal's
 * `M_USER_DEACTIVATED` "Deactivated in policy"; one that matches an active managed user only
 * ignoring case, with the `case-variant` denial. A 3PID login (`reason` `3pid-login`) of an
 * active managed user whose password Corporal checks is refused with "Failed authentication":
 * Synapse accepted the account's Synapse password, which for such a user is the derived password
 * nobody types — so it was a stale one (set before the user was managed, or by an admin), which the
 * policy does not control.
 */
export function inspectLoginResponse(status: number, body: Uint8Array, snapshot: PolicySnapshot, reason: VettedLogin): LoginResponseVerdict {
  if (status !== 200) return PASS;
  const parsed = parseJsonObject(body);
  const accessToken = stringField(parsed, 'access_token');
  const userId = stringField(parsed, 'user_id');
  if (userId === null) return { kind: 'refuse', accessToken, userId, answer: UNREADABLE_LOGIN_RESPONSE };
  const user = findManagedUser(snapshot, userId);
  if (user === undefined) return passWith(accessToken, userId, parsed);
  if (!user.active) return { kind: 'refuse', accessToken, userId, answer: LOGIN_DENIALS.deactivated };
  // Not the policy's account, only one its id matches ignoring case: no session (see LOGIN_DENIALS).
  if (user.id !== userId) return { kind: 'refuse', accessToken, userId, answer: LOGIN_DENIALS['case-variant'] };
  if (reason === '3pid-login' && user.authType !== 'passthrough') return { kind: 'refuse', accessToken, userId, answer: LOGIN_DENIALS['failed-authentication'] };
  return passWith(accessToken, userId, parsed);
}

/**
 * Inspects Synapse's answer to a login forwarded with an unmatchable password (the policy password
 * was wrong): 429 passes (Synapse's failed-login rate limit, with its `retry_after_ms`); anything
 * else is refused with matrix-corporal's "Failed authentication", and a 200 (which only a broken
 * password provider could give) also has its session logged out.
 */
export function inspectRefusedLoginResponse(status: number, body: Uint8Array): LoginResponseVerdict {
  if (status === 429) return PASS;
  const accessToken = status === 200 ? stringField(parseJsonObject(body), 'access_token') : null;
  return { kind: 'refuse', accessToken, userId: null, answer: LOGIN_DENIALS['failed-authentication'] };
}

function stringField(parsed: unknown, key: string): string | null {
  return isJsonObject(parsed) && typeof parsed[key] === 'string' ? parsed[key] : null;
}
