import type { PolicySnapshot } from '../../policy/snapshot.js';

/**
 * matrix-corporal's policy checker (reference §3.4) as pure predicates over a snapshot, with the
 * same names and semantics as `src/policy/permissions.ts` of the policy work (which replaces this
 * file once merged). `userId` is the exact MXID Synapse resolved for the request.
 */

type ForbidField = 'forbidRoomCreation' | 'forbidEncryptedRoomCreation' | 'forbidUnencryptedRoomCreation';

function isAllowed(snapshot: PolicySnapshot, userId: string, field: ForbidField): boolean {
  const override = snapshot.users.get(userId)?.[field] ?? null;
  return !(override ?? snapshot.flags[field]);
}

/** The user's `forbidRoomCreation` override if set, else the global flag (unmanaged users included). */
export function canUserCreateRoom(snapshot: PolicySnapshot, userId: string): boolean {
  return isAllowed(snapshot, userId, 'forbidRoomCreation');
}

/** Same precedence for `forbidEncryptedRoomCreation`. */
export function canUserCreateEncryptedRoom(snapshot: PolicySnapshot, userId: string): boolean {
  return isAllowed(snapshot, userId, 'forbidEncryptedRoomCreation');
}

/** Same precedence for `forbidUnencryptedRoomCreation`. */
export function canUserCreateUnencryptedRoom(snapshot: PolicySnapshot, userId: string): boolean {
  return isAllowed(snapshot, userId, 'forbidUnencryptedRoomCreation');
}

/**
 * May `userId` change their own membership in `roomId`? Unmanaged users always may; a managed
 * user may not when the room is listed in their `joinedRooms` **and** managed. (matrix-corporal
 * also refused listed rooms that are not managed; reconciliation never enforces those.)
 */
export function canUserChangeOwnMembershipStateInRoom(snapshot: PolicySnapshot, userId: string, roomId: string): boolean {
  const user = snapshot.users.get(userId);
  if (user === undefined) return true;
  return !(user.joinedRooms.has(roomId) && snapshot.managedRoomIds.has(roomId));
}
