import type { CurrentPowerLevels } from './check-input.js';
import { corporalThresholds, jsonBytes, parsePowerLevel } from './power-levels-check.js';
import { asRequester, type RequesterCredentials } from '../identity/masquerade.js';
import { getJson, type UpstreamLookupOptions } from './upstream-json.js';
import { implicitCreator, unlimitedCreators } from '../../common/room-creators.js';

/** Reads a room's current power levels with the credentials of the request acting as `requester`; null when they cannot be read. */
export type PowerLevelsReader = (roomId: string, credentials: RequesterCredentials, requester: string) => Promise<CurrentPowerLevels | null>;

/**
 * The current `m.room.power_levels` (state key `""`) and `m.room.create` of a room, read as the
 * requester (`Authorization: Bearer`, and the request's appservice `user_id`), so the gateway sees
 * exactly what that user may see. Without `user_id`, an appservice token would read as its own
 * sender: the state when that sender left the room, or nothing (red team 16, F1 and F2). A room
 * without a power-levels event reads as Synapse reads it: its implicit creator at 100, everyone
 * else at 0 (quality review 17b). Any other failure (no
 * access, unknown room, an unreadable create event, timeout) is null: the check then compares the
 * request with the policy alone.
 */
export function createPowerLevelsReader(options: UpstreamLookupOptions): PowerLevelsReader {
  return async (roomId, credentials, requester) => {
    const room = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`;
    const headers = { authorization: `Bearer ${credentials.token}` };
    try {
      const [levels, create] = await Promise.all([
        getJson(options, asRequester(`${room}/m.room.power_levels`, credentials.masqueradeAs), headers, requester),
        getJson(options, asRequester(`${room}/m.room.create?format=event`, credentials.masqueradeAs), headers, requester),
      ]);
      if (create.status !== 200 || create.json === null) return null;
      if (levels.status === 200 && levels.json !== null) return currentLevels(levels.json, create.json);
      if (levels.status === 404 && levels.json?.['errcode'] === 'M_NOT_FOUND') return levelsWithoutEvent(create.json);
      return null;
    } catch {
      return null;
    }
  };
}

function currentLevels(content: Record<string, unknown>, createEvent: Record<string, unknown>): CurrentPowerLevels {
  const users: Record<string, number> = {};
  const listed = content['users'];
  if (typeof listed === 'object' && listed !== null && !Array.isArray(listed)) {
    // An entry Corporal cannot read stays, as NaN: it fails every comparison, so a change near
    // it is refused (fail closed). Left out, the user would count as at `users_default`.
    for (const [userId, value] of Object.entries(listed)) users[userId] = parsePowerLevel(value);
  }
  const usersDefault = content['users_default'] === undefined ? 0 : parsePowerLevel(content['users_default']);
  return { users, usersDefault, thresholds: corporalThresholds(content), creators: unlimitedCreators(createEvent), contentBytes: jsonBytes(content) };
}

/**
 * A room without `m.room.power_levels`, as Synapse's event auth reads it: the implicit creator at
 * 100 (`get_user_power_level`), everyone else at 0, and the levels Corporal needs at Synapse's
 * defaults for empty content (`get_send_level`, `get_named_level`: sending the first power-levels
 * event takes `state_default`, 50).
 */
function levelsWithoutEvent(createEvent: Record<string, unknown>): CurrentPowerLevels {
  const creator = implicitCreator(createEvent);
  return { ...currentLevels({}, createEvent), users: creator === null ? {} : { [creator]: 100 } };
}
