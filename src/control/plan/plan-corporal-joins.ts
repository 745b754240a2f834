import type { ObservedRoom, ObservedState } from '../state.js';
import type { RoomCorporalJoinAction } from '../actions.js';
import type { Plan } from './types.js';
import { missingActionLevels } from './corporal-standing.js';
import { warn, type PlanContext } from './plan-context.js';
import { plural } from '../../common/plural.js';

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
 * `observed` as it will be once the corporal user has joined `rooms` (joined there, no longer
 * invited): what the pass after the joins plans from. Inputs untouched.
 */
export function afterJoining(observed: ObservedState, rooms: readonly ObservedRoom[], corporalUserId: string): ObservedState {
  const after = new Map(observed.rooms);
  for (const room of rooms) {
    const invited = new Set(room.invitedMembers);
    invited.delete(corporalUserId);
    after.set(room.roomId, { ...room, joinedMembers: new Set([...room.joinedMembers, corporalUserId]), invitedMembers: invited });
  }
  return { ...observed, rooms: after };
}

/**
 * `plan.room_after_join` for each of `rooms` ({@link roomsToJoin}): what `after`, the full plan of
 * the state once the corporal user has joined them ({@link afterJoining}), plans there — leaves
 * (kicks included), joins and level changes — so that a dry run shows what accepting the
 * invitation sets off. The pass after the join plans from a new observation, so the room may have
 * changed by then.
 */
export function warnAboutRoomsAfterJoin(ctx: PlanContext, rooms: readonly ObservedRoom[], after: Plan): void {
  const corporal = ctx.options.corporalUserId;
  for (const { roomId } of rooms) {
    let leaves = 0;
    let joins = 0;
    let levels = 0;
    for (const action of after.actions) {
      if (!('roomId' in action) || action.roomId !== roomId) continue;
      if (action.type === 'room.leave') leaves++;
      else if (action.type === 'room.join') joins++;
      else if (action.type === 'room.users_set_power_levels') levels += Object.keys(action.levels).length;
    }
    warn(ctx, 'plan.room_after_join', corporal, roomId,
      `the corporal user ${corporal} accepts its invitation to ${roomId} first; the room is planned by the pass right after the join, which, as things stand, would plan ${plural(leaves, 'leave')}, ${plural(joins, 'join')} and ${plural(levels, 'level change')} there`);
  }
}
