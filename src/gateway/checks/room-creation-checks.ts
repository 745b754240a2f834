import type { PolicyCheck } from './check-input.js';
import { authenticatedCheck } from './check-input.js';
import { ALLOW, DECISIONS, type Decision } from './decision.js';
import { jsonObject, ownField } from './json-body.js';
import { canUserCreateEncryptedRoom, canUserCreateRoom, canUserCreateUnencryptedRoom } from '../../policy/permissions.js';

/**
 * Room creation and encryption (matrix-corporal routes 4 and 5, and the upgrade gap).
 *
 * The global `forbid*RoomCreation` flags keep applying to unmanaged users, as in matrix-corporal
 * (a deployment may rely on them), but the corporal user is exempt (reference §11.19): it acts for
 * the policy, and a flag meant for people must not stop it.
 */

const ENCRYPTION_EVENT_TYPE = 'm.room.encryption';

/** Whether `initial_state` enables encryption, or null when it is not what matrix-corporal could decode. */
function hasEncryptionInInitialState(initialState: unknown): boolean | null {
  if (initialState === undefined || initialState === null) return false;
  if (!Array.isArray(initialState)) return null;
  let encrypted = false;
  for (const entry of initialState as unknown[]) {
    if (entry === null) continue;
    if (typeof entry !== 'object' || Array.isArray(entry)) return null;
    const type = ownField(entry as Record<string, unknown>, 'type');
    if (type !== undefined && type !== null && typeof type !== 'string') return null;
    // Any state key counts, as in matrix-corporal (Synapse only acts on the empty one).
    if (type === ENCRYPTION_EVENT_TYPE) encrypted = true;
  }
  return encrypted;
}

/**
 * `room.create`: may the user create rooms at all (decided before the body is looked at, as in
 * matrix-corporal), then encrypted or unencrypted ones, "encrypted" meaning an `initial_state`
 * entry of type `m.room.encryption`. Server-side defaults (`encryption_enabled_by_default_for_room_type`,
 * presets) are not seen, as in matrix-corporal. A body that is not a JSON object, or whose
 * `initial_state` is not a list of objects with string `type`s, is `M_BAD_JSON`.
 */
export const roomCreate: PolicyCheck = authenticatedCheck('json', (input, userId) => {
  if (userId === input.corporalUserId) return ALLOW;
  if (!canUserCreateRoom(input.snapshot, userId)) return DECISIONS.cannotCreateRooms;
  const body = jsonObject(input.body);
  if (body === null) return DECISIONS.notJson;
  const encrypted = hasEncryptionInInitialState(ownField(body, 'initial_state'));
  if (encrypted === null) return DECISIONS.notJson;
  if (encrypted) return canUserCreateEncryptedRoom(input.snapshot, userId) ? ALLOW : DECISIONS.cannotCreateEncryptedRooms;
  return canUserCreateUnencryptedRoom(input.snapshot, userId) ? ALLOW : DECISIONS.cannotCreateUnencryptedRooms;
});

/**
 * `room.state.encryption`: turning encryption on in an existing room. Every state key is policed
 * (matrix-corporal: only the empty one, so `…/m.room.encryption/x` went through; such an event does
 * not encrypt the room, but policing it costs nothing and removes the question).
 */
export const roomStateEncryption: PolicyCheck = authenticatedCheck(false, (input, userId): Decision => {
  if (userId === input.corporalUserId) return ALLOW;
  return canUserCreateEncryptedRoom(input.snapshot, userId) ? ALLOW : DECISIONS.cannotCreateEncryptedRooms;
});

/**
 * `room.upgrade` (Corporal): upgrading a managed room would move its members into a replacement
 * room the policy does not manage, so only the corporal user may. Upgrading any other room creates
 * a room, so it also needs the right to create rooms. (Whether the replacement is encrypted is
 * copied from the old room and not checked.)
 */
export const roomUpgrade: PolicyCheck = authenticatedCheck(false, (input, userId): Decision => {
  if (userId === input.corporalUserId) return ALLOW;
  if (input.snapshot.managedRoomIds.has(input.route.params['roomId'] ?? '')) return DECISIONS.managedRoomUpgrade;
  return canUserCreateRoom(input.snapshot, userId) ? ALLOW : DECISIONS.cannotCreateRooms;
});
