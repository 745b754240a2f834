import type { CorporalError } from '../../common/errors.js';

/**
 * Who a request acts as, as far as the gateway knows. The gateway resolves identities
 * opportunistically: every request is still proxied (Synapse validates the token again), but
 * policy checks and hooks decide on this value, so each state mirrors what Synapse would decide.
 *
 * - `anonymous`: no credentials presented.
 * - `invalid-credentials`: credentials Synapse rejects without looking them up (mixed header and
 *   query token, several headers, malformed header); `message` is Synapse's 401 `M_MISSING_TOKEN` text.
 * - `user`: whoami answered for this token (and appservice `user_id`, if any).
 * - `unknown-token`: Synapse does not know the token (`M_UNKNOWN_TOKEN`), or knew it and it has
 *   expired (`softLogout`, see {@link UnknownTokenIdentity}).
 * - `locked`: the token's user is locked (`M_USER_LOCKED`); Synapse refuses everything but logout.
 * - `unresolved`: the look-up failed (network, timeout, 5xx, unexpected answer); not cached.
 */
export type Identity =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'invalid-credentials'; readonly message: string }
  | UserIdentity
  | UnknownTokenIdentity
  | { readonly kind: 'locked' }
  | { readonly kind: 'unresolved'; readonly error: CorporalError };

/** A resolved user. */
export interface UserIdentity {
  readonly kind: 'user';
  /** Full MXID, as whoami returned it (the masqueraded user for an appservice `user_id`). */
  readonly userId: string;
  /** The token's device, if it has one (appservice tokens have none). */
  readonly deviceId: string | null;
  readonly isGuest: boolean;
}

/**
 * A token whoami refused with `M_UNKNOWN_TOKEN`. `softLogout` is present (true) when Synapse added
 * `soft_logout: true`: the token was valid and has expired (a refreshable access token past
 * `expires_in_ms`), and the client is to use its refresh token rather than log in again. Absent
 * for a token Synapse does not know at all.
 */
export interface UnknownTokenIdentity {
  readonly kind: 'unknown-token';
  readonly softLogout?: true;
}

/** What a whoami look-up can yield and the cache may keep (`unresolved` is never cached). */
export type CachedIdentity = UserIdentity | UnknownTokenIdentity | { readonly kind: 'locked' };

/** Shared immutable values for the states without data: no token sent. */
export const ANONYMOUS: Identity = Object.freeze({ kind: 'anonymous' });
/** Synapse does not know the token (a negative cache entry). */
export const UNKNOWN_TOKEN: CachedIdentity = Object.freeze({ kind: 'unknown-token' });
/**
 * Synapse knew the token but it has expired (`soft_logout: true`; a negative cache entry too: a
 * refresh yields a new token, and an expired one never becomes valid again).
 */
export const EXPIRED_TOKEN: CachedIdentity = Object.freeze({ kind: 'unknown-token', softLogout: true });
/** The token's user is locked at Synapse. */
export const LOCKED: CachedIdentity = Object.freeze({ kind: 'locked' });

/** The user id when the identity is a resolved user, else null. */
export function userIdOf(identity: Identity): string | null {
  return identity.kind === 'user' ? identity.userId : null;
}
