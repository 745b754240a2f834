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
 * Whether a request delays one of the state events the policy governs (membership, power levels
 * with state key `""`, encryption, tombstone; the caller's route says which), by anyone but the
 * corporal user, **in any room**. Why refused: Synapse checks nothing more when a delayed event
 * fires, and the sender can restart its timer indefinitely, so an event allowed today could land
 * after the policy changed, unchecked: a level the policy does not fix yet, a room added to
 * `managedRoomIds` later (a delayed tombstone or kick there), an encryption flag set later (red
 * team 9, F3). Synapse has no admin API to list or cancel other users' delayed events, so the
 * moment to refuse is scheduling. Delayed events of other types (MatrixRTC call membership,
 * the reason MSC4140 exists) are not affected.
 */
export function isDelayedByNonCorporalUser(input: CheckInput, userId: string): boolean {
  return input.delayed && userId !== input.corporalUserId;
}

/**
 * Largest request body accepted for a request that schedules a delayed event, in bytes. Synapse
 * checks no size when it stores a delayed event (only when it finally sends it, at 64 KiB), yet
 * lists each pending one whole, and the reconciler must read that list to cancel a user's delayed
 * events when the policy makes them inactive: one padded event of a few MB made the list
 * unreadable, so none was cancelled, and the locked user's other delayed events were still sent
 * (red team 23, F1). Three times Synapse's event bound leaves room for any encoding of a sendable
 * event. Synapse's answer can be larger than the body it got: every non-ASCII character is escaped
 * (`é`, two bytes, comes back as six), and a number such as `1e15` comes back as
 * `1000000000000000.0` (3.8 times, with its comma); at 3.8 times this bound an element stays
 * below the reconciler's bound of one listed element (`DELAYED_EVENT_MAX_BYTES` in
 * control/synapse/delayed-events-api.ts, 1 MiB).
 */
export const DELAYED_EVENT_MAX_BODY_BYTES = 192 * 1024;

/**
 * Whether the request schedules a delayed event through a route that creates one from its body:
 * an event send or a state write (any type; the governed ones are refused by their checks first).
 */
export function schedulesDelayedEventFromBody(routeId: string, method: string, rawQuery: string): boolean {
  // The route first: this runs for every proxied request, and most are not event writes.
  if (!routeId.startsWith('room.send') && !(routeId.startsWith('room.state.') && routeId !== 'room.state.get')) return false;
  const upper = method.toUpperCase();
  if (upper !== 'PUT' && upper !== 'POST') return false;
  return schedulesDelayedEvent(rawQuery);
}
