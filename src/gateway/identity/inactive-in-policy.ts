import type { PolicySnapshot } from '../../policy/snapshot.js';
import type { RouteId } from '../router/index.js';
import type { Identity } from './identity.js';

/**
 * Routes Synapse 1.163.2 serves to a locked account (`allow_locked=True`): logging out, and
 * `/_matrix/client/versions` (matched by path: the router files it under `other`). Login does not
 * authenticate the caller's token; its own interception refuses inactive users.
 */
const SERVED_WHEN_LOCKED: ReadonlySet<string> = new Set<RouteId>(['logout', 'logout.all', 'login']);
const VERSIONS_PATH = '/_matrix/client/versions';

/**
 * Whether a request acts as a managed user whom the policy marks inactive, on a route that Synapse
 * refuses to a locked account.
 *
 * Why: the reconciler locks an inactive user's account and deletes its devices, but only when its
 * run reaches them (seconds on a large policy, longer while Synapse is unreachable); until then the
 * user's tokens would still work. The gateway refuses them as Synapse will once the account is
 * locked (401 `M_USER_LOCKED`), from the moment a thread holds the policy. `Corporal.UserID` is
 * never refused: the reconciler never acts on it either (`plan.corporal_user_in_policy`).
 */
export function actsAsInactiveUser(snapshot: PolicySnapshot, identity: Identity, routeId: string, rawPath: string, corporalUserId: string): boolean {
  if (identity.kind !== 'user' || identity.userId === corporalUserId) return false;
  if (snapshot.users.get(identity.userId)?.active !== false) return false;
  return !SERVED_WHEN_LOCKED.has(routeId) && rawPath !== VERSIONS_PATH;
}
