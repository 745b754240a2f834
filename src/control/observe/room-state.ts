import { DEFAULT_ACTION_LEVELS, type ActionLevels, type ObservedRoom } from '../state.js';
import type { StateEvent } from '../synapse/rooms-api.js';
import { nonIntegerLevelFields } from './power-level-values.js';
import { exactPowerLevel, namedPowerLevels } from '../../common/power-level-value.js';

/**
 * Room versions in which the creators (the `m.room.create` sender and `additional_creators`) have
 * unlimited power and are never listed in `m.room.power_levels` (MSC4289): "12" and later, and the
 * "hydra" pre-release of v12.
 */
export function creatorsHaveUnlimitedPower(roomVersion: string): boolean {
  if (roomVersion === 'org.matrix.hydra.11') return true;
  return /^\d+$/.test(roomVersion) && Number(roomVersion) >= 12;
}

/** An {@link ObservedRoom} from the room's whole current state. */
export function observedRoomFromState(roomId: string, events: readonly StateEvent[]): ObservedRoom {
  const joined = new Set<string>();
  const banned = new Set<string>();
  const powerLevelUsers: Record<string, number> = {};
  let usersDefault = 0;
  let actionLevels: ActionLevels = { ...DEFAULT_ACTION_LEVELS };
  let nonIntegerLevels: string[] = [];
  const creators = new Set<string>();
  for (const event of events) {
    if (event.type === 'm.room.member') {
      const membership = event.content['membership'];
      if (membership === 'join') joined.add(event.stateKey);
      else if (membership === 'ban') banned.add(event.stateKey);
    } else if (event.type === 'm.room.power_levels' && event.stateKey === '') {
      const users = event.content['users'];
      if (typeof users === 'object' && users !== null && !Array.isArray(users)) {
        for (const [userId, value] of Object.entries(users)) {
          const level = exactPowerLevel(value);
          if (level !== undefined) powerLevelUsers[userId] = level;
        }
      }
      usersDefault = exactPowerLevel(event.content['users_default']) ?? 0;
      actionLevels = actionLevelsOf(event.content);
      nonIntegerLevels = nonIntegerLevelFields(event.content);
    } else if (event.type === 'm.room.create' && event.stateKey === '') {
      const version = event.content['room_version'];
      // Rooms created before room versions existed carry no room_version: version "1".
      if (creatorsHaveUnlimitedPower(typeof version === 'string' ? version : '1')) {
        if (event.sender !== '') creators.add(event.sender);
        const additional = event.content['additional_creators'];
        if (Array.isArray(additional)) for (const creator of additional) if (typeof creator === 'string') creators.add(creator);
      }
    }
  }
  return { roomId, readable: true, error: null, joinedMembers: joined, bannedMembers: banned, powerLevelUsers, usersDefault, actionLevels, nonIntegerLevels, creators };
}

/**
 * The levels the reconciler needs, read from power-levels `content` as Synapse reads them
 * (`namedPowerLevels`). A value Corporal cannot read exactly takes the fallback here;
 * `nonIntegerLevels` names it, and the planner then compares none of the room's levels.
 */
function actionLevelsOf(content: Readonly<Record<string, unknown>>): ActionLevels {
  const { kick, invite, setPowerLevels } = namedPowerLevels(content, (fallback) => fallback);
  return { kick, invite, setPowerLevels };
}

/** A managed room whose state could not be read: the planner plans nothing for it. */
export function unreadableRoom(roomId: string, error: string): ObservedRoom {
  return { roomId, readable: false, error, joinedMembers: new Set(), bannedMembers: new Set(), powerLevelUsers: {}, usersDefault: 0, actionLevels: { ...DEFAULT_ACTION_LEVELS }, nonIntegerLevels: [], creators: new Set() };
}
