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

/** What an `initial_state` says about encryption. */
interface InitialEncryption {
  /** Some entry has type `m.room.encryption`, under any state key (matrix-corporal's reading). */
  readonly mentioned: boolean;
  /**
   * Synapse will create the room encrypted from it: the entry it keeps for
   * (`m.room.encryption`, `""`) — the last one, a missing state key counting as `""` — has content
   * with a string `algorithm`, the test Synapse applies itself (`handlers/room.py`).
   */
  readonly enabled: boolean;
}

/** Reads `initial_state`, or null when it is not what matrix-corporal could decode. */
function initialEncryption(initialState: unknown): InitialEncryption | null {
  if (initialState === undefined || initialState === null) return { mentioned: false, enabled: false };
  if (!Array.isArray(initialState)) return null;
  let mentioned = false;
  let kept: unknown = undefined;
  for (const entry of initialState as unknown[]) {
    if (entry === null) continue;
    if (typeof entry !== 'object' || Array.isArray(entry)) return null;
    const fields = entry as Record<string, unknown>;
    const type = ownField(fields, 'type');
    if (type !== undefined && type !== null && typeof type !== 'string') return null;
    if (type !== ENCRYPTION_EVENT_TYPE) continue;
    mentioned = true;
    const stateKey = ownField(fields, 'state_key');
    // Synapse keys the entries by `(type, val.get("state_key", ""))`: the last one wins.
    if (stateKey === undefined || stateKey === '') kept = ownField(fields, 'content');
  }
  const enabled = typeof kept === 'object' && kept !== null && !Array.isArray(kept)
    && typeof ownField(kept as Record<string, unknown>, 'algorithm') === 'string';
  return { mentioned, enabled };
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
  if (encryption === null) return DECISIONS.notJson;
  // Both readings fail closed: any encryption entry counts as "encrypted" for the one flag, and
  // only an entry Synapse acts on counts as "not unencrypted" for the other.
  if (encryption.mentioned && !canUserCreateEncryptedRoom(input.snapshot, userId)) return DECISIONS.cannotCreateEncryptedRooms;
  if (!encryption.enabled && !canUserCreateUnencryptedRoom(input.snapshot, userId)) return DECISIONS.cannotCreateUnencryptedRooms;
  return ALLOW;
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
