import { DEFAULT_ACTION_LEVELS, type ActionLevels, type ObservedRoom } from '../state.js';
import type { StateEvent } from '../synapse/rooms-api.js';
import { nonIntegerLevelFields } from './power-level-values.js';
import { exactPowerLevel, namedPowerLevels } from '../../common/power-level-value.js';
import { implicitCreator, unlimitedCreators } from '../../common/room-creators.js';

/** An {@link ObservedRoom} from the room's whole current state. */
export function observedRoomFromState(roomId: string, events: readonly StateEvent[]): ObservedRoom {
  const joined = new Set<string>();
  const banned = new Set<string>();
  const invited = new Set<string>();
  const powerLevelUsers: Record<string, number> = {};
  let usersDefault = 0;
  let actionLevels: ActionLevels = { ...DEFAULT_ACTION_LEVELS };
  let nonIntegerLevels: string[] = [];
  const creators = new Set<string>();
  let hasPowerLevels = false;
  let createEvent: StateEvent | null = null;
  let replacementRoom: string | null = null;
  let joinRule: string | null = null;
  for (const event of events) {
    if (event.type === 'm.room.member') {
      const membership = event.content['membership'];
      if (membership === 'join') joined.add(event.stateKey);
      else if (membership === 'ban') banned.add(event.stateKey);
      else if (membership === 'invite') invited.add(event.stateKey);
    } else if (event.type === 'm.room.power_levels' && event.stateKey === '') {
      hasPowerLevels = true;
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
    } else if (event.type === 'm.room.tombstone' && event.stateKey === '') {
      const replacement = event.content['replacement_room'];
      replacementRoom = typeof replacement === 'string' ? replacement : null;
    } else if (event.type === 'm.room.join_rules' && event.stateKey === '') {
      const rule = event.content['join_rule'];
      joinRule = typeof rule === 'string' ? rule : null;
    } else if (event.type === 'm.room.create' && event.stateKey === '') {
      createEvent = event;
      for (const creator of unlimitedCreators(event)) creators.add(creator);
    }
  }
  if (!hasPowerLevels && createEvent !== null) {
    // Without the event Synapse still gives the creator 100: the planner must see that level to
    // judge kicks and the corporal user's own standing as Synapse will.
    const creator = implicitCreator(createEvent);
    if (creator !== null) powerLevelUsers[creator] = 100;
  }
  return { roomId, readable: true, error: null, joinedMembers: joined, bannedMembers: banned, invitedMembers: invited, powerLevelUsers, usersDefault, actionLevels, nonIntegerLevels, creators, hasPowerLevels, replacementRoom, joinRule };
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
export function unreadableRoom(roomId: string, error: string, retryable = false): ObservedRoom {
  return { roomId, readable: false, error, ...(retryable ? { retryable } : {}), joinedMembers: new Set(), bannedMembers: new Set(), invitedMembers: new Set(), powerLevelUsers: {}, usersDefault: 0, actionLevels: { ...DEFAULT_ACTION_LEVELS }, nonIntegerLevels: [], creators: new Set(), hasPowerLevels: false, replacementRoom: null, joinRule: null };
}
