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
