import type { PolicyCheck } from './check-input.js';
import { DECISIONS, type Denial } from './decision.js';

/** What the request's credentials resolved to. */
export type TokenState = 'none' | 'unknown' | 'user';

/**
 * matrix-corporal's token rules for policy-checked routes (reference §6.4 steps 3-4), applied
 * before the check: no token on a route that requires one → 401 `M_MISSING_TOKEN`; a token that
 * does not resolve to a user → 403 `M_UNKNOWN_TOKEN` (also on the routes that run without a
 * token: a client that sends a token means to be someone). Null: the check may run.
 */
export function tokenDenial(check: PolicyCheck, token: TokenState): Denial | null {
  if (token === 'unknown') return DECISIONS.unknownToken;
  if (token === 'none' && check.requiresToken) return DECISIONS.missingToken;
  return null;
}
