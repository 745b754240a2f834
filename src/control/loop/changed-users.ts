import type { PolicyFlags, PolicySnapshot, SnapshotUser } from '../../policy/snapshot.js';

/**
 * A full pass after the run in progress, which goes on: managed rooms were added (the run's plan,
 * made for the old managed rooms, all still managed, holds for every user whose entry did not
 * change), or the policy changed nothing the reconciler acts on (its stamp, its hooks, flags only
 * the gateway reads), where matrix-corporal reconciled after every new policy and operators push
 * one to correct drift. `users`: the users added, removed or edited, whose actions the run leaves
 * to that pass.
 */
export interface FullPassAfterRun {
  readonly fullPassAfterRun: true;
  readonly users: ReadonlySet<string>;
}

/** What a new policy generation asks of the loop: see {@link changedUserIds}. */
export type PolicyChange = ReadonlySet<string> | 'all' | FullPassAfterRun;

/**
 * What a new policy generation asks the loop to reconcile (the second argument of
 * `ReconcileLoop.onPolicy`):
 *
 * - `'all'`: a full pass, and a run in progress stops before its next action: the first policy,
 *   managed rooms removed (a plan made while they were managed could take users out of rooms
 *   Corporal no longer manages), or a flag the planner reads changed.
 * - {@link FullPassAfterRun}: managed rooms added, and nothing of the above; or no user and no
 *   managed room changed.
 * - Otherwise the users added, removed or edited. A removed user is listed too: the loop ignores
 *   users that are no longer in the policy, and listing them keeps the answer a plain difference.
 */
export function changedUserIds(previous: PolicySnapshot | null, next: PolicySnapshot): PolicyChange {
  if (previous === null) return 'all';
  for (const roomId of previous.managedRoomIds) if (!next.managedRoomIds.has(roomId)) return 'all';
  for (const flag of PLANNER_FLAGS) if (previous.flags[flag] !== next.flags[flag]) return 'all';
  const changed = new Set<string>();
  for (const [userId, user] of next.users) {
    const before = previous.users.get(userId);
    if (before === undefined || !sameUser(before, user)) changed.add(userId);
  }
  for (const userId of previous.users.keys()) if (!next.users.has(userId)) changed.add(userId);
  const roomsAdded = next.managedRoomIds.size > previous.managedRoomIds.size;
  if (roomsAdded || changed.size === 0) return { fullPassAfterRun: true, users: changed };
  return changed;
}

/**
 * The flags the planner reads (`plan-profile.ts`): a change stops the run in progress. The others
 * are the gateway's alone: a change of them does not, and asks for a full pass after it only as any
 * policy that changes no user does.
 */
const PLANNER_FLAGS: readonly (keyof PolicyFlags)[] = ['allowCustomUserDisplayNames', 'allowCustomUserAvatars'];

/**
 * Whether a plan made on `before` still holds for this user under `after`, where that is certain
 * without planning again: an inactive user in both, listed in the same rooms. The planner makes
 * such a user leave the managed rooms not listed and locks it; its levels, profile and credentials
 * play no part (`planInactiveUser`). A lock must not wait for a follow-up run because the policy
 * edited the display name of a user it keeps inactive (verification 16).
 */
export function samePlanWhileInactive(before: SnapshotUser | undefined, after: SnapshotUser | undefined): boolean {
  if (before === undefined || after === undefined || before.active || after.active) return false;
  return sameSet(new Set(before.joinedRooms.keys()), new Set(after.joinedRooms.keys()));
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const value of a) if (!b.has(value)) return false;
  return true;
}

/** Every field the reconciler acts on (the gateway-only `forbid*` overrides are left out). */
function sameUser(a: SnapshotUser, b: SnapshotUser): boolean {
  if (
    a.active !== b.active ||
    a.authType !== b.authType ||
    a.authCredential !== b.authCredential ||
    a.displayName !== b.displayName ||
    a.avatarUri !== b.avatarUri ||
    a.powerLevelsManaged !== b.powerLevelsManaged ||
    a.joinedRooms.size !== b.joinedRooms.size
  ) {
    return false;
  }
  for (const [roomId, level] of a.joinedRooms) if (b.joinedRooms.get(roomId) !== level) return false;
  return true;
}
