import type { CheckInput, PolicyCheck } from './check-input.js';
import { authenticatedCheck } from './check-input.js';
import { ALLOW, DECISIONS, type Decision } from './decision.js';
import { jsonObject, ownField } from '../json-body.js';
import { hasEncryptionAlgorithm, type RoomEncryptionState } from './encryption-reader.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import { canUserCreateEncryptedRoom, canUserCreateRoom, canUserCreateUnencryptedRoom } from '../../policy/permissions.js';
import { isDelayedByNonCorporalUser } from './delayed-events.js';

/**
 * Room creation and encryption (matrix-corporal routes 4 and 5), upgrades and tombstones (the
 * upgrade gap). Redactions that could remove a room's encryption: redaction-checks.ts.
 *
 * The global `forbid*RoomCreation` flags keep applying to unmanaged users, as in matrix-corporal
 * (a deployment may rely on them), but the corporal user is exempt (reference §11.19): it acts for
 * the policy, and a flag meant for people must not stop it.
 */

const ENCRYPTION_EVENT_TYPE = 'm.room.encryption';

/**
 * What `initial_state` makes of the new room's encryption, or null when it is not what
 * matrix-corporal could decode. `present`: some entry has type `m.room.encryption`, under any
 * state key (matrix-corporal's reading); `enabled`: the entry Synapse keeps for
 * (`m.room.encryption`, `""`) — the last one, a missing state key counting as `""` — has content
 * with a string `algorithm`, the test Synapse applies itself (`handlers/room.py`).
 */
function initialEncryption(initialState: unknown): RoomEncryptionState | null {
  if (initialState === undefined || initialState === null) return { present: false, enabled: false };
  if (!Array.isArray(initialState)) return null;
  let present = false;
  let kept: unknown = undefined;
  for (const entry of initialState as unknown[]) {
    if (entry === null) continue;
    if (typeof entry !== 'object' || Array.isArray(entry)) return null;
    const fields = entry as Record<string, unknown>;
    const type = ownField(fields, 'type');
    if (type !== undefined && type !== null && typeof type !== 'string') return null;
    if (type !== ENCRYPTION_EVENT_TYPE) continue;
    present = true;
    const stateKey = ownField(fields, 'state_key');
    // Synapse keys the entries by `(type, val.get("state_key", ""))`: the last one wins.
    if (stateKey === undefined || stateKey === '') kept = ownField(fields, 'content');
  }
  return { present, enabled: hasEncryptionAlgorithm(kept) };
}

/**
 * The encryption flags for a room about to be created with `encryption`. Both readings fail
 * closed: any encryption event counts as "encrypted" for the one flag, only one Synapse and
 * clients act on counts as "not unencrypted" for the other.
 */
function encryptionDecision(snapshot: PolicySnapshot, userId: string, encryption: RoomEncryptionState): Decision {
  if (encryption.present && !canUserCreateEncryptedRoom(snapshot, userId)) return DECISIONS.cannotCreateEncryptedRooms;
  if (!encryption.enabled && !canUserCreateUnencryptedRoom(snapshot, userId)) return DECISIONS.cannotCreateUnencryptedRooms;
  return ALLOW;
}

/** Whether either encryption flag restricts `userId` (so an upgrade must look at the room). */
function encryptionRestricted(snapshot: PolicySnapshot, userId: string): boolean {
  return !canUserCreateEncryptedRoom(snapshot, userId) || !canUserCreateUnencryptedRoom(snapshot, userId);
}

/**
 * `room.create`: may the user create rooms at all (decided before the body is looked at, as in
 * matrix-corporal), then encrypted or unencrypted ones: `forbidEncryptedRoomCreation` refuses an
 * `initial_state` entry of type `m.room.encryption` under any state key; `forbidUnencryptedRoomCreation`
 * refuses a room without one Synapse acts on (empty state key, string `algorithm`: an entry under
 * another key, or without an algorithm, leaves the room unencrypted for clients). Server-side defaults (`encryption_enabled_by_default_for_room_type`,
 * presets) are not seen, as in matrix-corporal. A body that is not a JSON object, or whose
 * `initial_state` is not a list of objects with string `type`s, is `M_BAD_JSON`.
 */
export const roomCreate: PolicyCheck = authenticatedCheck('json', (input, userId) => {
  if (userId === input.corporalUserId) return ALLOW;
  if (!canUserCreateRoom(input.snapshot, userId)) return DECISIONS.cannotCreateRooms;
  const body = jsonObject(input.body);
  if (body === null) return DECISIONS.notJson;
  const encryption = initialEncryption(ownField(body, 'initial_state'));
  return encryption === null ? DECISIONS.notJson : encryptionDecision(input.snapshot, userId, encryption);
});

/**
 * `room.state.encryption`: changing a room's encryption. Every state key is policed for
 * `forbidEncryptedRoomCreation` (matrix-corporal: only the empty one, so `…/m.room.encryption/x`
 * went through; such an event does not encrypt the room, but policing it costs nothing and removes
 * the question). For `forbidUnencryptedRoomCreation` (Corporal): the event under the empty state
 * key replaces the room's encryption, and content without a string `algorithm` (`{}`) leaves the
 * room unencrypted for clients, as a redaction of the event would (quality review 5, M2), so a
 * user that flag restricts may only send content that keeps it on. A delayed one (MSC4140) is
 * refused in every room (delayed-events.ts).
 */
export const roomStateEncryption: PolicyCheck = authenticatedCheck('json', (input, userId): Decision => {
  if (userId === input.corporalUserId) return ALLOW;
  if (!canUserCreateEncryptedRoom(input.snapshot, userId)) return DECISIONS.cannotCreateEncryptedRooms;
  if (isDelayedByNonCorporalUser(input, userId)) return DECISIONS.delayedPolicedEvent;
  if (canUserCreateUnencryptedRoom(input.snapshot, userId) || input.route.params['stateKey'] !== '') return ALLOW;
  const body = jsonObject(input.body);
  if (body === null) return DECISIONS.notJson;
  return hasEncryptionAlgorithm(body) ? ALLOW : DECISIONS.cannotUnencryptRoom;
});

/**
 * `room.state.tombstone` (Corporal): a tombstone marks a room as replaced by another, which clients
 * then offer to move to: an upgrade by hand. In a managed room only the corporal user may send one
 * (any state key, like `room.upgrade`, whose replacement room would be unmanaged). A delayed one
 * is refused in every room, as the room may be managed by the time it lands (delayed-events.ts).
 */
export const roomStateTombstone: PolicyCheck = authenticatedCheck('whole', (input, userId) => {
  if (userId === input.corporalUserId) return ALLOW;
  if (input.snapshot.managedRoomIds.has(input.route.params['roomId'] ?? '')) return DECISIONS.managedRoomUpgrade;
  return isDelayedByNonCorporalUser(input, userId) ? DECISIONS.delayedPolicedEvent : ALLOW;
});

/**
 * `room.upgrade` (Corporal): upgrading a managed room would move its members into a replacement
 * room the policy does not manage, so only the corporal user may. Upgrading any other room creates
 * a room, so it also needs the right to create rooms and, when an encryption flag restricts the
 * user, the right to create a room encrypted as the old one is (Synapse copies its
 * `m.room.encryption`); that is read as the requester, and a room whose encryption cannot be read
 * is not upgraded (fail closed).
 */
export const roomUpgrade: PolicyCheck = authenticatedCheck('whole', (input, userId): Decision | Promise<Decision> => {
  if (userId === input.corporalUserId) return ALLOW;
  const roomId = input.route.params['roomId'] ?? '';
  if (input.snapshot.managedRoomIds.has(roomId)) return DECISIONS.managedRoomUpgrade;
  if (!canUserCreateRoom(input.snapshot, userId)) return DECISIONS.cannotCreateRooms;
  if (!encryptionRestricted(input.snapshot, userId)) return ALLOW;
  const read = input.currentEncryption;
  if (read === undefined) return DECISIONS.roomEncryptionUnreadable;
  return read(roomId).then(
    (encryption) => (encryption === null ? DECISIONS.roomEncryptionUnreadable : encryptionDecision(input.snapshot, userId, encryption)),
    () => DECISIONS.roomEncryptionUnreadable,
  );
});
