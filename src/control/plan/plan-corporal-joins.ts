import type { ObservedRoom } from '../state.js';
import type { RoomCorporalJoinAction } from '../actions.js';

/**
 * The readable managed rooms the corporal user is invited to but not joined to, in `managedRoomIds`
 * order: it accepts those invitations (`room.corporal_join`) before anything else is done.
 *
 * Nothing else is planned for such a room, in full plans and in plans for a few users alike (those
 * make no join), as if it had not been read: what the planner would decide there (leaves held,
 * levels not settable, joins by the admin API that need the corporal user in a room that is not
 * public) depends on the join. Planning the room as if the corporal user were already joined would
 * let its members' leaves run even when the join fails — the case that could empty a room for good
 * (day-2 review 19, finding 1). The loop runs a full pass again once a join succeeds, and that
 * pass plans the room with the corporal user in it.
 */
export function corporalJoins(readableRooms: ReadonlyMap<string, ObservedRoom>, corporalUserId: string): RoomCorporalJoinAction[] {
  const joins: RoomCorporalJoinAction[] = [];
  for (const room of readableRooms.values()) {
    if (room.joinedMembers.has(corporalUserId) || !room.invitedMembers.has(corporalUserId)) continue;
    joins.push({ type: 'room.corporal_join', roomId: room.roomId });
  }
  return joins;
}
