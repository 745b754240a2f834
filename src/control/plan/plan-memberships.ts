import type { SnapshotUser } from '../../policy/snapshot.js';
import { kickRefusal } from './corporal-standing.js';
import { hold, warn, type PlanContext } from './plan-context.js';
import { planPowerLevel } from './plan-power-level.js';

/** How the memberships of one user are planned. */
export interface MembershipMode {
  /**
   * Active users get joins and power levels. Inactive users only leave (matrix-corporal joined
   * inactive users to their `joinedRooms`, reference quirk #5): they stay where the policy lists
   * them and are already joined, and their power levels are left alone.
   */
  isActive: boolean;
  /** The account is locked while it leaves, so its tokens are refused: the corporal user kicks. */
  viaKick: boolean;
}

/**
 * Appends the user's `room.join` (in `joinedRooms` order) and `room.leave` actions (managed rooms
 * the user is in but should not be, in `managedRoomIds` order), and collects power levels into
 * `ctx.levelGroups`. No leave or kick is planned in a room the corporal user is not joined to: it
 * is listed in `ctx.heldLeaves` instead (reported once per room by `warnAboutHeldMemberships`); nor a
 * join there unless the room is public (`ctx.heldJoins`). A kick
 * (`viaKick`) Synapse would refuse the corporal user is a `plan.kick_not_possible` warning instead
 * (see `kickRefusal`). Rooms that are not readable are left alone (they are reported once, in
 * `Plan.skippedRooms`); rooms that are not managed are warned about and skipped.
 */
export function planMemberships(ctx: PlanContext, user: SnapshotUser, mode: MembershipMode): void {
  for (const [roomId, level] of user.joinedRooms) {
    if (!ctx.policy.managedRoomIds.has(roomId)) {
      warn(ctx, 'plan.room_not_managed', user.id, roomId, `${user.id} should be in ${roomId}, but that room is not managed`);
      continue;
    }
    const room = ctx.readableRooms.get(roomId);
    if (room === undefined) continue;
    if (!room.joinedMembers.has(user.id)) {
      if (!mode.isActive) continue;
      // Unbanning is a moderation decision Corporal does not take on its own; the join would fail anyway.
      if (room.bannedMembers.has(user.id)) {
        warn(ctx, 'plan.user_banned', user.id, roomId, `${user.id} should be in ${roomId}, but is banned from it; Corporal does not unban`);
        continue;
      }
      if (!room.joinedMembers.has(ctx.options.corporalUserId) && room.joinRule !== 'public') {
        // Synapse's admin join API has the admin invite the user first into a room that is not
        // public, which the corporal user cannot do from outside: the join would fail on every
        // pass and retry (operator review 22, #4). Reported once per room.
        hold(ctx.heldJoins, roomId, user.id);
      } else {
        ctx.actions.push({ type: 'room.join', userId: user.id, roomId });
      }
    }
    if (mode.isActive) planPowerLevel(ctx, user, room, level);
  }
  for (const roomId of ctx.joinedManagedRooms.get(user.id) ?? []) {
    if (user.joinedRooms.has(roomId)) continue;
    // Always there: `joinedManagedRooms` holds readable rooms only.
    const room = ctx.readableRooms.get(roomId);
    if (room === undefined) continue;
    if (!room.joinedMembers.has(ctx.options.corporalUserId)) {
      // Adopting a room Corporal is not in must not empty it: the leave (as the user) would work,
      // but nobody could be let back in (day-2 review 19, finding 1). Reported once per room.
      hold(ctx.heldLeaves, roomId, user.id);
      continue;
    }
    const refusal = mode.viaKick ? kickRefusal(room, ctx.options.corporalUserId, user.id) : null;
    if (refusal !== null) {
      // A kick Synapse refuses would fail on every retry and every pass (red team 12, F3).
      warn(ctx, 'plan.kick_not_possible', user.id, roomId, `${user.id} should not be in ${roomId}, but their account is locked and Synapse would refuse the corporal user's kick: ${refusal}`);
      continue;
    }
    ctx.actions.push({ type: 'room.leave', userId: user.id, roomId, viaKick: mode.viaKick });
  }
}
