/**
 * The async shell of UIA password handling: verifies the typed password in the offload pool and
 * produces the body to forward.
 */
import { unmatchablePassword } from '../login/unmatchable-password.js';
import { derivedPassword } from '../../common/derived-password.js';
import type { SnapshotUser } from '../../policy/snapshot.js';
import { checkPassword, type PasswordChecker } from '../login/check-password.js';
import type { PasswordCheckOrigin } from '../login/check-origin.js';
import type { LocalAnswer } from '../login/local-answer.js';
import { decideUia, pinUiaStage, rewriteUiaBody } from './uia-decision.js';

/** What UIA handling needs; built once per gateway thread. */
export interface UiaInterceptorOptions extends PasswordChecker {
  /** `Matrix.AuthSharedSecret`: key of the derived password. */
  authSharedSecret: string;
}

/**
 * - `proxy`: forward `body` (null = the original body, unchanged; otherwise a new body, so set
 *   Content-Length from it);
 * - `respond`: answer locally (only when the check could not be made: 429 for too many checks of
 *   the user, 503 + `Retry-After` when the pool cannot take it).
 */
export type UiaOutcome =
  | { readonly kind: 'proxy'; readonly body: Buffer | null }
  | { readonly kind: 'respond'; readonly answer: LocalAnswer };

/**
 * Handles the body of a request on a UIA route by `user` (the `uiaSubject`), whose requester is
 * `requesterId`; `origin.signal` (the request's) is aborted when its client leaves, which drops
 * a password check still waiting for the pool; `origin.clientAddress` counts the check against
 * the client's address.
 */
export type UiaInterceptor = (user: SnapshotUser, requesterId: string, body: Uint8Array, origin: PasswordCheckOrigin) => Promise<UiaOutcome>;

/** Forward the body as the client sent it. */
export const UIA_UNCHANGED: UiaOutcome = Object.freeze({ kind: 'proxy', body: null });

/** Forward `body` with its login-like stage pinned to `requesterId` ({@link pinUiaStage}), or unchanged when it has none. */
export function pinnedToRequester(body: Uint8Array, requesterId: string): UiaOutcome {
  const pinned = pinUiaStage(body, requesterId);
  return pinned === null ? UIA_UNCHANGED : { kind: 'proxy', body: pinned };
}

/**
 * Builds the interceptor. A verified password is replaced by the derived password. A wrong one,
 * an authenticator error and an inactive user all get a random 256-bit password instead: it
 * cannot match the account's password nor the shared-secret HMAC, so Synapse itself fails the
 * stage and the client receives Synapse's own 401 (flows, session, completed stages,
 * `M_FORBIDDEN`), byte for byte, and Synapse's failed-attempt rate limiting counts it. (Forwarding
 * the client's wrong password unchanged is not safe: it could be the account's real Synapse
 * password from before the user was managed.)
 */
export function createUiaInterceptor(options: UiaInterceptorOptions): UiaInterceptor {
  const { authSharedSecret, logger } = options;
  return async (user, requesterId, body, origin) => {
    const decision = decideUia(user, body);
    // Not a password stage of ours (a module's login type, say): still pinned to the requester.
    if (decision.kind === 'untouched') return pinnedToRequester(body, requesterId);
    if (decision.kind === 'spoil') {
      logger.info({ userId: user.id, purpose: 'uia' }, 'password check: user inactive in policy');
      return { kind: 'proxy', body: rewriteUiaBody(decision.body, requesterId, unmatchablePassword()) };
    }
    const check = await checkPassword(options, user, decision.password, { ...origin, purpose: 'uia' });
    if (check.kind === 'unavailable') return { kind: 'respond', answer: check.answer };
    const password = check.kind === 'authenticated' ? derivedPassword(authSharedSecret, user.id) : unmatchablePassword();
    return { kind: 'proxy', body: rewriteUiaBody(decision.body, requesterId, password) };
  };
}
