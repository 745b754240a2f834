import { asRequester, type RequesterCredentials } from '../identity/masquerade.js';
import { getJson, type UpstreamLookupOptions } from './upstream-json.js';

/**
 * What a room's `m.room.encryption` (state key `""`) says, in the two readings of the encryption
 * flags: `present` — there is such an event (counts as encrypted for `forbidEncryptedRoomCreation`);
 * `enabled` — its content has a string `algorithm`, as Synapse and clients require (only that
 * counts as encrypted for `forbidUnencryptedRoomCreation`). Both readings fail closed.
 */
export interface RoomEncryptionState {
  readonly present: boolean;
  readonly enabled: boolean;
}

/** A room's current encryption as read from the homeserver: {@link RoomEncryptionState} and the event's id. */
export interface CurrentRoomEncryption extends RoomEncryptionState {
  /** The `m.room.encryption` event's id (null when there is none, or the answer did not name it). */
  readonly eventId: string | null;
}

/**
 * Whether `m.room.encryption` content turns encryption on: a JSON object with a string `algorithm`,
 * the test Synapse applies (`handlers/room.py`) and clients need. Anything else — `{}`, a number,
 * redacted (emptied) content — leaves the room unencrypted for clients that read it.
 */
export function hasEncryptionAlgorithm(content: unknown): boolean {
  return typeof content === 'object' && content !== null && !Array.isArray(content)
    && typeof (content as Record<string, unknown>)['algorithm'] === 'string';
}

const NOT_ENCRYPTED: CurrentRoomEncryption = Object.freeze({ present: false, enabled: false, eventId: null });

/** Reads a room's encryption state with the credentials of the request acting as `requester`; null when it cannot be read. */
export type EncryptionReader = (roomId: string, credentials: RequesterCredentials, requester: string) => Promise<CurrentRoomEncryption | null>;

/**
 * `GET …/rooms/{roomId}/state/m.room.encryption?format=event` as the requester (`Authorization:
 * Bearer`, and the request's appservice `user_id`: see power-levels-reader.ts), so the gateway
 * sees what that user may see. 404 `M_NOT_FOUND`: not encrypted. Anything
 * else that is not a 200 with a JSON object (no access, unknown room, timeout): null.
 */
export function createEncryptionReader(options: UpstreamLookupOptions): EncryptionReader {
  return async (roomId, credentials, requester) => {
    try {
      const path = asRequester(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.encryption?format=event`, credentials.masqueradeAs);
      const answer = await getJson(options, path, { authorization: `Bearer ${credentials.token}` }, requester);
      if (answer.status === 404 && answer.json?.['errcode'] === 'M_NOT_FOUND') return NOT_ENCRYPTED;
      if (answer.status !== 200 || answer.json === null) return null;
      const content = answer.json['content'];
      const eventId = answer.json['event_id'];
      return {
        present: true,
        enabled: hasEncryptionAlgorithm(content),
        eventId: typeof eventId === 'string' ? eventId : null,
      };
    } catch {
      return null;
    }
  };
}
