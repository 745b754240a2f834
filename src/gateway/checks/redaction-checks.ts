import type { CheckInput, PolicyCheck } from './check-input.js';
import { authenticatedCheck } from './check-input.js';
import { ALLOW, DECISIONS, type Decision } from './decision.js';
import { jsonObject, ownField } from '../json-body.js';
import { canUserCreateUnencryptedRoom } from '../../policy/permissions.js';
import { isDelayedByNonCorporalUser } from './delayed-events.js';

/**
 * Redactions that could take a room's encryption away (Corporal; matrix-corporal let every
 * redaction through): the redact endpoint, and `m.room.redaction` events sent through `send` or
 * `state`. Redacting the current `m.room.encryption` event empties its content.
 */

/**
 * `room.redact` (Corporal): redacting a room's current `m.room.encryption` event empties its
 * content (every room version strips it), which leaves the room without an algorithm: unencrypted
 * for clients that read it from then on, although the Matrix spec says encryption, once on, stays
 * on (router parity review, F2). A user whom `forbidUnencryptedRoomCreation` restricts may not do
 * that; their other redactions pass after one state read as the requester. A room whose
 * encryption cannot be read is not redacted in (fail closed). Other users, who may create
 * unencrypted rooms anyway, are not read for.
 */
export const roomRedact: PolicyCheck = authenticatedCheck('whole', (input, userId) => {
  if (!mustKeepRoomsEncrypted(input, userId)) return ALLOW;
  return redactionDecision(input, input.route.params['eventId'] ?? '');
});

/**
 * `room.send.redaction` and `room.state.redaction` (Corporal): an `m.room.redaction` event sent
 * through `send` or `state` is a redaction of its `content.redacts` (room v11+), so it meets the
 * {@link roomRedact} rule (verification round 12, F1: it went around it). Without `redacts` it
 * redacts nothing; a `redacts` that is not a string is refused for users the rule restricts (it
 * cannot be checked). A delayed one (MSC4140) is refused from everyone but the corporal user, in
 * every room: Synapse would send it later without a check, after the flag may have been set.
 */
export const roomRedactionEvent: PolicyCheck = authenticatedCheck('json', (input, userId) => {
  // A delayed redaction would land unchecked after the flag is set (quality review 5, M1).
  if (isDelayedByNonCorporalUser(input, userId)) return DECISIONS.delayedPolicedEvent;
  if (!mustKeepRoomsEncrypted(input, userId)) return ALLOW;
  const body = jsonObject(input.body);
  if (body === null) return DECISIONS.notJson;
  const redacts = ownField(body, 'redacts');
  if (redacts === undefined) return ALLOW;
  if (typeof redacts !== 'string') return DECISIONS.redactsNotString;
  return redactionDecision(input, redacts);
});

function mustKeepRoomsEncrypted(input: CheckInput, userId: string): boolean {
  return userId !== input.corporalUserId && !canUserCreateUnencryptedRoom(input.snapshot, userId);
}

/** Refuses redacting `eventId` when it is the room's current encryption event (read as the requester). */
function redactionDecision(input: CheckInput, eventId: string): Decision | Promise<Decision> {
  const read = input.currentEncryption;
  if (read === undefined) return DECISIONS.redactionTargetUnreadable;
  return read(input.route.params['roomId'] ?? '').then(
    (encryption) => {
      // An encryption event whose id the answer did not give cannot be told apart: fail closed.
      if (encryption === null || (encryption.present && encryption.eventId === null)) return DECISIONS.redactionTargetUnreadable;
      return encryption.present && encryption.eventId === eventId ? DECISIONS.cannotUnencryptRoom : ALLOW;
    },
    () => DECISIONS.redactionTargetUnreadable,
  );
}
