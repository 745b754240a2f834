import type { CheckInput, CurrentPowerLevels } from './check-input.js';
import { authenticatedCheck, type PolicyCheck } from './check-input.js';
import { ALLOW, DECISIONS, type Decision } from './decision.js';
import { jsonObject, ownField } from '../json-body.js';
import { delaysChangeInManagedRoom } from './delayed-events.js';

const INTEGER_STRING = /^\s*[+-]?\d+\s*$/;

/**
 * A power level as Synapse reads it from `m.room.power_levels`: an integer, or (room versions
 * before 10) a string holding one. Anything else is NaN, which equals no level, so a value
 * Corporal cannot read never counts as "the policy's level".
 */
export function parsePowerLevel(value: unknown): number {
  if (typeof value === 'number') return Number.isInteger(value) ? value : Number.NaN;
  if (typeof value === 'string' && INTEGER_STRING.test(value)) return Number(value);
  return Number.NaN;
}

/** The effective level of `userId` in power-levels content: `users[userId] ?? users_default ?? 0`. */
function effectiveLevel(users: unknown, usersDefault: unknown, userId: string): number {
  if (typeof users === 'object' && users !== null && !Array.isArray(users) && Object.hasOwn(users, userId)) {
    return parsePowerLevel((users as Record<string, unknown>)[userId]);
  }
  return usersDefault === undefined ? 0 : parsePowerLevel(usersDefault);
}

function currentLevel(current: CurrentPowerLevels, userId: string): number {
  return Object.hasOwn(current.users, userId) ? (current.users[userId] as number) : current.usersDefault;
}

/**
 * `room.state.power_levels` (Corporal): in a managed room, nobody but the corporal user may move a
 * managed user's effective level (`users[u] ?? users_default`) away from the policy's, nor lower
 * the corporal user's own. Only users whose levels the reconciler enforces count (see
 * `ManagedLevelsIndex`), and v12+ creators (whose power is unlimited and who are never listed) are
 * skipped.
 *
 * Decided in two steps: the proposed content against the policy, then the room's current event
 * (read with the requester's token; without a reader the policy alone decides). A managed user
 * whose level the request does not change is not moved (a room that has drifted is the
 * reconciler's to fix, and must not block unrelated edits such as `events`); any user whose level
 * changes to something other than the policy's is. If the current event cannot be read, the change
 * is refused (fail closed: Synapse also refuses it from someone who cannot read the room's state).
 *
 * Only the empty state key is policed: `m.room.power_levels` under another state key is inert to
 * Synapse's authorisation.
 */
export const roomStatePowerLevels: PolicyCheck = authenticatedCheck('json', (input, userId) => {
  const roomId = input.route.params['roomId'] ?? '';
  if (userId === input.corporalUserId || input.route.params['stateKey'] !== '') return ALLOW;
  if (!input.snapshot.managedRoomIds.has(roomId)) return ALLOW;
  if (delaysChangeInManagedRoom(input, userId, roomId)) return DECISIONS.delayedInManagedRoom;
  const body = jsonObject(input.body);
  if (body === null) return DECISIONS.notJson;
  const users = ownField(body, 'users');
  const usersDefault = ownField(body, 'users_default');
  const moved: string[] = [];
  for (const [memberId, level] of input.levels.levelsIn(roomId)) {
    if (effectiveLevel(users, usersDefault, memberId) !== level) moved.push(memberId);
  }
  if (input.currentPowerLevels === undefined) return moved.length === 0 ? ALLOW : DECISIONS.powerLevels;
  return compareWithCurrent(input, roomId, moved, users, usersDefault);
});

/**
 * The second step, on the room's current event: managed users' levels (see above), and the
 * corporal user's, which nobody else may lower in a managed room (the reconciler kicks and sets
 * levels there as that user). Unreadable → refused (fail closed).
 */
async function compareWithCurrent(
  input: CheckInput,
  roomId: string,
  moved: readonly string[],
  users: unknown,
  usersDefault: unknown,
): Promise<Decision> {
  let current: CurrentPowerLevels | null;
  try {
    current = (await input.currentPowerLevels?.(roomId)) ?? null;
  } catch {
    current = null;
  }
  if (current === null) return moved.length === 0 ? DECISIONS.powerLevelsUnreadable : DECISIONS.powerLevels;
  const corporal = input.corporalUserId;
  if (!current.creators.has(corporal) && effectiveLevel(users, usersDefault, corporal) < currentLevel(current, corporal)) {
    return DECISIONS.corporalUserProtected;
  }
  for (const memberId of moved) {
    if (current.creators.has(memberId)) continue;
    if (effectiveLevel(users, usersDefault, memberId) !== currentLevel(current, memberId)) return DECISIONS.powerLevels;
  }
  return ALLOW;
}
