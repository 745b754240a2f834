import { firstFew } from '../../common/first-few.js';
import type { ObservedRoom } from '../state.js';

/** `userId`'s own entry in the room's `users` map, or `undefined` when it has none. */
export function usersEntry(room: ObservedRoom, userId: string): number | undefined {
  return Object.hasOwn(room.powerLevelUsers, userId) ? room.powerLevelUsers[userId] : undefined;
}

/** `userId`'s effective level, `users[userId] ?? users_default` (creators aside). */
export function effectiveLevel(room: ObservedRoom, userId: string): number {
  return usersEntry(room, userId) ?? room.usersDefault;
}

/**
 * The corporal user's level in `room` as Synapse computes it: `Infinity` when it is a creator in a
 * room version where creators have unlimited power (v12+), else `users[corporal] ?? users_default`.
 */
export function corporalLevel(room: ObservedRoom, corporalUserId: string): number {
  if (room.creators.has(corporalUserId)) return Number.POSITIVE_INFINITY;
  return effectiveLevel(room, corporalUserId);
}

/**
 * The levels of `room.actionLevels` that the corporal user's level is below, as
 * `"kick (50)"`-style names, in the order kick, invite, `m.room.power_levels`; empty when it has
 * them all (always for a v12 creator). Membership is not looked at.
 */
export function missingActionLevels(room: ObservedRoom, corporalUserId: string): string[] {
  const own = corporalLevel(room, corporalUserId);
  const { kick, invite, setPowerLevels } = room.actionLevels;
  const missing: string[] = [];
  if (own < kick) missing.push(`kick (${kick})`);
  if (own < invite) missing.push(`invite (${invite})`);
  if (own < setPowerLevels) missing.push(`send m.room.power_levels (${setPowerLevels})`);
  return missing;
}

/**
 * Why Synapse would refuse the corporal user's kick of `userId` from `room`, or `null` when it will
 * accept it (`event_auth._is_membership_change_allowed`, 1.163.2, a leave of another user): the
 * kicker must be joined, at least at `kick`, and above the target's level
 * (`users[target] ?? users_default`, users_default included, unlike level changes). A v12 creator
 * (power 2^53) is above every listed level, and nobody is above a creator, so a creator can never
 * be kicked. In a room whose power levels hold values that are not integers (`nonIntegerLevels`)
 * the levels are not compared.
 */
export function kickRefusal(room: ObservedRoom, corporalUserId: string, userId: string): string | null {
  if (!room.joinedMembers.has(corporalUserId)) return 'the corporal user is not joined to the room';
  if (room.creators.has(userId)) return 'they are a creator of the room (room v12), whom nobody can kick';
  // Levels Corporal cannot read exactly decide nothing: the kick is tried (and fails visibly).
  if (room.nonIntegerLevels.length > 0) return null;
  const own = corporalLevel(room, corporalUserId);
  const kickLevel = room.actionLevels.kick;
  if (own < kickLevel) return `the corporal user's own level (${own}) is below the level to kick (${kickLevel})`;
  const target = effectiveLevel(room, userId);
  if (own <= target) return `their level ${target} is not below the corporal user's own (${own})`;
  return null;
}

/** `room.nonIntegerLevels` for a message: the first few field names, then how many more. */
export function nonIntegerLevelsSummary(room: ObservedRoom): string {
  return firstFew(room.nonIntegerLevels);
}
