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
 * managed user's effective level (`users[u] ?? users_default`) away from the policy's. Only users
 * whose levels the reconciler enforces count (see `ManagedLevelsIndex`), and v12+ creators (whose
 * power is unlimited and who are never listed) are skipped.
 *
 * Decided in two steps so the common case needs no I/O: if the proposed content gives every such
 * user their policy level, allow. Otherwise read the current event (requester's token): a user
 * whose level the request does not change is not moved (a room that has drifted is the
 * reconciler's to fix, and must not block unrelated edits such as `events`); any user whose level
 * changes to something other than the policy's is. If the current event cannot be read, compare
 * with the policy alone (fail closed: Synapse also refuses the change from someone who cannot read
 * the room's state).
 *
 * Only the empty state key is policed: `m.room.power_levels` under another state key is inert to
 * Synapse's authorisation.
 */
export const roomStatePowerLevels: PolicyCheck = authenticatedCheck('json', (input, userId) => {
  const roomId = input.route.params['roomId'] ?? '';
  if (userId === input.corporalUserId || input.route.params['stateKey'] !== '') return ALLOW;
  if (delaysChangeInManagedRoom(input, userId, roomId)) return DECISIONS.delayedInManagedRoom;
  const required = input.levels.levelsIn(roomId);
  if (required.size === 0) return ALLOW;
  const body = jsonObject(input.body);
  if (body === null) return DECISIONS.notJson;
  const users = ownField(body, 'users');
  const usersDefault = ownField(body, 'users_default');
  let moved: string[] | null = null;
  for (const [memberId, level] of required) {
    if (effectiveLevel(users, usersDefault, memberId) !== level) (moved ??= []).push(memberId);
  }
  if (moved === null) return ALLOW;
  if (input.currentPowerLevels === undefined) return DECISIONS.powerLevels;
  return compareWithCurrent(input, roomId, moved, users, usersDefault);
});

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
  if (current === null) return DECISIONS.powerLevels;
  for (const memberId of moved) {
    if (current.creators.has(memberId)) continue;
    if (effectiveLevel(users, usersDefault, memberId) !== currentLevel(current, memberId)) return DECISIONS.powerLevels;
  }
  return ALLOW;
}
