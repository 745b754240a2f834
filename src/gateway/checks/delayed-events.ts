import { queryValues } from '../query.js';
import type { CheckInput } from './check-input.js';

/** Synapse 1.163.2's query parameter for MSC4140 delayed events (`_parse_request_for_delayed_event_delay`). */
const DELAY_PARAM = 'org.matrix.msc4140.delay';

/**
 * Whether a request schedules an MSC4140 delayed event: the delay parameter is present, read as
 * Synapse reads query arguments (an encoded key counts). Synapse answers 400 for a value that is
 * not a non-negative integer, so presence is enough.
 */
export function schedulesDelayedEvent(rawQuery: string): boolean {
  return queryValues(rawQuery, DELAY_PARAM) !== null;
}

/**
 * Whether a membership or power-levels state event is delayed into a managed room by anyone but
 * the corporal user. Why refused: Synapse checks nothing more when a delayed event fires, and the
 * sender can restart its timer indefinitely, so a change allowed today (a level the policy does
 * not fix yet) could land after the policy changed, unchecked. Delayed events of other types
 * (MatrixRTC call membership, the reason MSC4140 exists) and in unmanaged rooms are not affected.
 */
export function delaysChangeInManagedRoom(input: CheckInput, userId: string, roomId: string): boolean {
  return input.delayed && userId !== input.corporalUserId && input.snapshot.managedRoomIds.has(roomId);
}
