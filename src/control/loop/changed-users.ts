import type { PolicySnapshot, SnapshotUser } from '../../policy/snapshot.js';

/**
 * What a new policy generation asks the loop to reconcile (the second argument of
 * `ReconcileLoop.onPolicy`): `'all'` for the first policy, or when the managed rooms or the flags
 * changed (they affect every user); otherwise the users added, removed or edited. A removed user
 * is listed too: the loop ignores users that are no longer in the policy, and listing them keeps
 * the answer a plain difference.
 */
export function changedUserIds(previous: PolicySnapshot | null, next: PolicySnapshot): ReadonlySet<string> | 'all' {
  if (previous === null) return 'all';
  if (!sameSet(previous.managedRoomIds, next.managedRoomIds)) return 'all';
  for (const [flag, value] of Object.entries(next.flags)) if (previous.flags[flag as keyof typeof next.flags] !== value) return 'all';
  const changed = new Set<string>();
  for (const [userId, user] of next.users) {
    const before = previous.users.get(userId);
    if (before === undefined || !sameUser(before, user)) changed.add(userId);
  }
  for (const userId of previous.users.keys()) if (!next.users.has(userId)) changed.add(userId);
  return changed;
}

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
