import type { PolicySnapshot } from '../../policy/snapshot.js';
import type { RouteId } from '../router/index.js';
import type { Identity } from './identity.js';
import { DECISIONS, type Denial } from '../checks/decision.js';

/**
 * Routes Synapse 1.163.2 serves to a locked account (`allow_locked=True`): logging out, and
 * `/_matrix/client/versions` (matched by path: the router files it under `other`). Login does not
 * authenticate the caller's token; its own interception refuses inactive users.
 */
const SERVED_WHEN_LOCKED: ReadonlySet<string> = new Set<RouteId>(['logout', 'logout.all', 'login']);
const VERSIONS_PATH = '/_matrix/client/versions';

/**
 * Why the policy refuses every request of this identity, or null: the rules that depend on who
 * the token's user is, not on what the request does.
 *
 * - `DECISIONS.userLocked`: a managed user whom the policy marks inactive, on a route that Synapse
 *   refuses to a locked account. The reconciler locks an inactive user's account and deletes its
 *   devices, but only when its run reaches them (seconds on a large policy, longer while Synapse
 *   is unreachable); until then the user's tokens would still work. The gateway refuses them as
 *   Synapse will once the account is locked (401 `M_USER_LOCKED`), from the moment a thread holds
 *   the policy.
 * - `DECISIONS.caseVariantOfManagedUser`: an account whose id differs only in case from a policy
 *   user's (`@carol` for a policy's `@Carol`, or a legacy `@Alice` beside a managed `@alice`).
 *   Login matches ids ignoring case, as Synapse's own login does, so such an account logs in as
 *   that policy user; every other rule, and the reconciler, matches ids exactly, so it would then
 *   be treated as unmanaged: free to leave the rooms the policy requires, and never locked when
 *   the policy makes it inactive. Refused (fail closed) until the policy names the account exactly.
 *
 * - `DECISIONS.corporalUserMasquerade`: an appservice token whose `user_id` (`masquerading`) makes
 *   the request act as `Corporal.UserID`, on every route. Synapse lets an appservice act as any
 *   user its namespace covers, admins included, and the usual double-puppeting namespace
 *   (`@.*:domain`) covers the corporal user; every check exempts that user, trusting that its
 *   requests are the reconciler's own. They never are through the gateway: Corporal talks to
 *   Synapse directly and never masquerades (red team 16, F3: a required member kicked from a
 *   managed room, and the admin API answered).
 *
 * Logging out and `/versions` stay open to the first two. `Corporal.UserID` is otherwise never
 * refused: a policy entry for it never reaches the snapshot (policy/compile.ts), and the
 * reconciler never acts on it.
 */
export function identityRefusal(snapshot: PolicySnapshot, identity: Identity, masquerading: boolean, routeId: string, rawPath: string, corporalUserId: string): Denial | null {
  if (identity.kind !== 'user') return null;
  if (identity.userId === corporalUserId) return masquerading ? DECISIONS.corporalUserMasquerade : null;
  if (SERVED_WHEN_LOCKED.has(routeId) || rawPath === VERSIONS_PATH) return null;
  const user = snapshot.users.get(identity.userId);
  if (user !== undefined) return user.active ? null : DECISIONS.userLocked;
  return snapshot.userIdsByLowercase.has(identity.userId.toLowerCase()) ? DECISIONS.caseVariantOfManagedUser : null;
}
