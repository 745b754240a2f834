import type { ObservedRoom } from '../state.js';

/**
 * Why the corporal user cannot move `userId`'s `users` entry in `room` to `target`, or `null` when
 * Synapse will accept it. Synapse's rules (`event_auth._check_power_levels`, 1.163.2) for the sender
 * of a power-levels event that changes another user's entry: the current entry (not
 * `users_default`) must be below the sender's level — "remove ops level equal to your own" when it
 * is equal, "greater than your own" when above — and the new value must not exceed the sender's
 * level (equal is allowed). The sender may change its own entry except to above its level.
 * The corporal user's level is `users[corporal] ?? users_default`; in room versions where creators
 * have unlimited power (v12) a creator corporal user can set anyone to anything. Only called for a
 * changed level, so an unchanged entry (which Synapse never checks) is never refused.
 */
export function levelChangeRefusal(room: ObservedRoom, corporalUserId: string, userId: string, target: number): string | null {
  if (room.creators.has(corporalUserId)) return null;
  const own = entryOf(room, corporalUserId) ?? room.usersDefault;
  if (target > own) return `the level ${target} is above the corporal user's own (${own})`;
  const current = entryOf(room, userId);
  if (userId !== corporalUserId && current !== undefined && current >= own) {
    return `their current level ${current} is not below the corporal user's own (${own})`;
  }
  return null;
}

function entryOf(room: ObservedRoom, userId: string): number | undefined {
  return Object.hasOwn(room.powerLevelUsers, userId) ? room.powerLevelUsers[userId] : undefined;
}
