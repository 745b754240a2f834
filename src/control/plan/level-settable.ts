import type { ObservedRoom } from '../state.js';
import { corporalLevel, nonIntegerLevelsSummary, usersEntry } from './corporal-standing.js';

/**
 * Why the corporal user cannot move `userId`'s `users` entry in `room` to `target`, or `null` when
 * Synapse will accept it. The corporal user must be joined (Synapse refuses state events from
 * non-members; said first, since its level then says little); the room must have a power-levels
 * event (`setPowerLevels` refuses to create one); the room's power levels must all be
 * integers (its write carries the whole event, and Synapse refuses any other value in a new event:
 * red team 12, F4); and it must be at least at the level to send `m.room.power_levels`. Then Synapse's rules (`event_auth._check_power_levels`, 1.163.2) for the
 * sender of a power-levels event that changes another user's entry: the current entry (not
 * `users_default`) must be below the sender's level — "remove ops level equal to your own" when it
 * is equal, "greater than your own" when above — and the new value must not exceed the sender's
 * level (equal is allowed). The sender may change its own entry except to above its level.
 * The corporal user's level is `users[corporal] ?? users_default`; in room versions where creators
 * have unlimited power (v12) a creator corporal user can set anyone to anything. Only called for a
 * changed level, so an unchanged entry (which Synapse never checks) is never refused.
 */
export function levelChangeRefusal(room: ObservedRoom, corporalUserId: string, userId: string, target: number): string | null {
  if (!room.joinedMembers.has(corporalUserId)) return 'the corporal user is not joined to the room';
  if (!room.hasPowerLevels) {
    return "the room has no m.room.power_levels event, and Corporal does not create one (it would take the creator's implicit level 100 away)";
  }
  if (room.nonIntegerLevels.length > 0) {
    return `the room's m.room.power_levels holds values that are not integers (${nonIntegerLevelsSummary(room)}), which Synapse refuses in Corporal's write`;
  }
  if (room.creators.has(corporalUserId)) return null;
  const own = corporalLevel(room, corporalUserId);
  const sendLevel = room.actionLevels.setPowerLevels;
  if (own < sendLevel) return `the corporal user's own level (${own}) is below the level to send m.room.power_levels (${sendLevel})`;
  if (target > own) return `the level ${target} is above the corporal user's own (${own})`;
  const current = usersEntry(room, userId);
  if (userId !== corporalUserId && current !== undefined && current >= own) {
    return `their current level ${current} is not below the corporal user's own (${own})`;
  }
  return null;
}
