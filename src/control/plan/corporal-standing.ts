import type { ObservedRoom } from '../state.js';

/**
 * The corporal user's level in `room` as Synapse computes it: `Infinity` when it is a creator in a
 * room version where creators have unlimited power (v12+), else `users[corporal] ?? users_default`.
 */
export function corporalLevel(room: ObservedRoom, corporalUserId: string): number {
  if (room.creators.has(corporalUserId)) return Number.POSITIVE_INFINITY;
  return (Object.hasOwn(room.powerLevelUsers, corporalUserId) ? room.powerLevelUsers[corporalUserId] : undefined) ?? room.usersDefault;
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
