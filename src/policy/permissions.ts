import type { PolicySnapshot, SnapshotUser } from './snapshot.js';

/**
 * matrix-corporal's policy checker (§3.4), as pure predicates over a snapshot. `userId` is the
 * exact MXID the homeserver resolved for the request's access token.
 *
 * The room-creation predicates apply to unmanaged users too (the global flag), as in
 * matrix-corporal: a policy that forbids room creation forbids it for everyone going through the
 * gateway, unless a managed user's own override says otherwise.
 */

type ForbidField = 'forbidRoomCreation' | 'forbidEncryptedRoomCreation' | 'forbidUnencryptedRoomCreation';

function isAllowed(snapshot: PolicySnapshot, userId: string, field: ForbidField): boolean {
  const override = snapshot.users.get(userId)?.[field] ?? null;
  return !(override ?? snapshot.flags[field]);
}

/** May `userId` create a room at all? The user's `forbidRoomCreation` if set, else the global flag. */
export function canUserCreateRoom(snapshot: PolicySnapshot, userId: string): boolean {
  return isAllowed(snapshot, userId, 'forbidRoomCreation');
}

/** May `userId` create an encrypted room (or turn encryption on in a room)? Same precedence. */
export function canUserCreateEncryptedRoom(snapshot: PolicySnapshot, userId: string): boolean {
  return isAllowed(snapshot, userId, 'forbidEncryptedRoomCreation');
}

/** May `userId` create an unencrypted room? Same precedence. */
export function canUserCreateUnencryptedRoom(snapshot: PolicySnapshot, userId: string): boolean {
  return isAllowed(snapshot, userId, 'forbidUnencryptedRoomCreation');
}

/**
 * May `userId` change their own membership in `roomId` (leave, or any other self-membership
 * change)? Unmanaged users always may. A managed user may not when the room is one they must be
 * in: listed in their `joinedRooms` **and** in `managedRoomIds`.
 *
 * Deliberate difference from matrix-corporal, which also refused rooms listed in `joinedRooms` but
 * not managed: reconciliation never puts users into unmanaged rooms, so refusing to let them out
 * enforced a membership nobody manages (validation warns about such entries).
 */
export function canUserChangeOwnMembershipStateInRoom(snapshot: PolicySnapshot, userId: string, roomId: string): boolean {
  const user: SnapshotUser | undefined = snapshot.users.get(userId);
  if (user === undefined) return true;
  return !(user.joinedRooms.has(roomId) && snapshot.managedRoomIds.has(roomId));
}

/** May users set their own display name? The global flag, for everyone (matrix-corporal ignores the user). */
export function canUserUseCustomDisplayName(snapshot: PolicySnapshot): boolean {
  return snapshot.flags.allowCustomUserDisplayNames;
}

/** May users set their own avatar? The global flag, for everyone. */
export function canUserUseCustomAvatar(snapshot: PolicySnapshot): boolean {
  return snapshot.flags.allowCustomUserAvatars;
}
