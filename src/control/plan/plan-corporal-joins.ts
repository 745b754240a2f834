import type { ObservedRoom } from '../state.js';
import type { RoomCorporalJoinAction } from '../actions.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import { missingActionLevels } from './corporal-standing.js';
import { warn, type PlanContext } from './plan-context.js';

/**
 * The readable managed rooms the corporal user is invited to but not joined to, and where its
 * level already reaches kick, invite and the level to send `m.room.power_levels`, in
 * `managedRoomIds` order: it accepts those invitations (`room.corporal_join`) before anything else
 * is done. An invitation without that power is not accepted (review 20, finding 1): once joined,
 * the room's held leaves would run, and a corporal user that cannot invite could let nobody back
 * in — whoever invited it may be the member the policy takes out. Power levels can name a user
 * before it joins, so the room's admins raise it first; until then the room stays held, and
 * `warnAboutRooms` says what is missing. Levels Corporal cannot read exactly decide nothing: no join.
 *
 * Nothing else is planned for such a room, in full plans and in plans for a few users alike (those
 * make no join), as if it had not been read: what the planner would decide there (leaves held,
 * levels not settable, joins by the admin API that need the corporal user in a room that is not
 * public) depends on the join. Planning the room as if the corporal user were already joined would
 * let its members' leaves run even when the join fails — the case that could empty a room for good
 * (day-2 review 19, finding 1). The loop runs a full pass again once a join succeeds, and that
 * pass plans the room with the corporal user in it ({@link warnAboutRoomsAfterJoin} says what it
 * would plan, for dry runs).
 */
export function roomsToJoin(readableRooms: ReadonlyMap<string, ObservedRoom>, corporalUserId: string): ObservedRoom[] {
  return [...readableRooms.values()].filter((room) => acceptsInvitation(room, corporalUserId));
}

/** The `room.corporal_join` of each of `rooms` ({@link roomsToJoin}), in order. */
export function corporalJoins(rooms: readonly ObservedRoom[]): RoomCorporalJoinAction[] {
  return rooms.map((room) => ({ type: 'room.corporal_join', roomId: room.roomId }));
}

/** Whether the corporal user, invited and not joined, has the power to manage `room` once it joins. */
export function acceptsInvitation(room: ObservedRoom, corporalUserId: string): boolean {
  if (room.joinedMembers.has(corporalUserId) || !room.invitedMembers.has(corporalUserId)) return false;
  return room.nonIntegerLevels.length === 0 && missingActionLevels(room, corporalUserId).length === 0;
}

/**
 * `plan.room_after_join` for each of `rooms` ({@link roomsToJoin}): what the pass after the join would plan there
 * — the leaves of policy users joined to it whom the policy does not list there, and the joins of
 * active policy users listed there who are neither joined nor banned — so that a dry run shows
 * what accepting the invitation sets off. Counts, not actions: levels and kicks depend on the
 * state after the join.
 */
export function warnAboutRoomsAfterJoin(ctx: PlanContext, rooms: readonly ObservedRoom[]): void {
  const corporal = ctx.options.corporalUserId;
  for (const room of rooms) {
    const { leaves, joins } = membershipChanges(ctx.policy, room, corporal);
    warn(ctx, 'plan.room_after_join', corporal, room.roomId,
      `the corporal user ${corporal} accepts its invitation to ${room.roomId} first; the room is planned by the pass right after the join, which would then plan ${plural(leaves, 'leave')} and ${plural(joins, 'join')} there`);
  }
}

function membershipChanges(policy: PolicySnapshot, room: ObservedRoom, corporal: string): { leaves: number; joins: number } {
  let leaves = 0;
  for (const userId of room.joinedMembers) {
    const user = policy.users.get(userId);
    if (user !== undefined && userId !== corporal && !user.joinedRooms.has(room.roomId)) leaves++;
  }
  let joins = 0;
  for (const user of policy.users.values()) {
    if (user.active && user.id !== corporal && user.joinedRooms.has(room.roomId) && !room.joinedMembers.has(user.id) && !room.bannedMembers.has(user.id)) joins++;
  }
  return { leaves, joins };
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;
