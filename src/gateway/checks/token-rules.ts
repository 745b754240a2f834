import type { PolicyCheck } from './check-input.js';
import { DECISIONS, type Denial } from './decision.js';

/**
 * What the request's credentials resolved to: none presented; presented but malformed (Synapse
 * refuses them outright: mixed header and query token, several headers, a bad header); a token
 * Synapse does not know; a token Synapse knew but that has expired (its `soft_logout: true`); a
 * token of a locked user; a user.
 */
export type TokenState = 'none' | 'invalid' | 'unknown' | 'expired' | 'locked' | 'user';

/**
 * matrix-corporal's token rules for policy-checked routes (reference §6.4 steps 3-4), applied
 * before the check; null: the check may run.
 *
 * - No token on a route that requires one → 401 `M_MISSING_TOKEN` "Missing access token".
 * - A token that does not resolve to a user → 403 `M_UNKNOWN_TOKEN` (matrix-corporal's 403), also on
 *   the routes that run without a token: a client that sends a token means to be someone.
 * - An expired token → Synapse's 401 `M_UNKNOWN_TOKEN` "Access token has expired" with
 *   `soft_logout: true`, so that the client refreshes instead of treating it as a logout
 *   (matrix-corporal's managed users never had refresh tokens; Corporal's do).
 * - Malformed credentials → 401 `M_MISSING_TOKEN` (Synapse refuses them on every route).
 * - A locked user → 401 `M_USER_LOCKED`, Synapse's answer (Corporal locks inactive users).
 */
export function tokenDenial(check: PolicyCheck, token: TokenState): Denial | null {
  switch (token) {
    case 'user':
      return null;
    case 'none':
      return check.requiresToken ? DECISIONS.missingToken : null;
    case 'invalid':
      return DECISIONS.missingToken;
    case 'unknown':
      return DECISIONS.unknownToken;
    case 'expired':
      return DECISIONS.expiredToken;
    case 'locked':
      return DECISIONS.userLocked;
  }
}
