import type { CheckInput, CorporalThreshold, CurrentPowerLevels } from './check-input.js';
import { authenticatedCheck, type PolicyCheck } from './check-input.js';
import { ALLOW, DECISIONS, type Decision } from './decision.js';
import { jsonObject, ownField } from '../json-body.js';
import { isDelayedByNonCorporalUser } from './delayed-events.js';
import { isRaiseGuarded } from './managed-levels-index.js';
import { exactPowerLevel, namedPowerLevels } from '../../common/power-level-value.js';

/**
 * A power level as Synapse reads it from `m.room.power_levels`, when Corporal can tell it exactly
 * ({@link exactPowerLevel}, the reconciler's rule too); anything else is NaN, which equals no level
 * and fails every comparison, so a value Corporal cannot read never counts as "the policy's level"
 * and never as below the corporal user's: fail closed.
 */
export function parsePowerLevel(value: unknown): number {
  return exactPowerLevel(value) ?? Number.NaN;
}

/**
 * The levels the corporal user needs ({@link CorporalThreshold}) in power-levels `content`, with
 * Synapse's defaults for absent fields (`namedPowerLevels`). A value Synapse would not accept
 * reads as NaN (such content is refused by Synapse itself).
 */
export function corporalThresholds(content: Readonly<Record<string, unknown>>): Record<CorporalThreshold, number> {
  const { kick, ban, invite, setPowerLevels } = namedPowerLevels(content, () => Number.NaN);
  return { kick, ban, invite, powerLevels: setPowerLevels };
}

/**
 * Largest `m.room.power_levels` content (compact JSON, UTF-8) that anyone but the corporal user may
 * grow a managed room's event to. The reconciler writes levels by merging its entries into the
 * current content, and Synapse refuses an event over 64 KiB: a room admin who padded the event to
 * that bound (a field of their own, entries for users the policy does not know) made every write
 * that lengthens it fail — a promotion, a newly listed user — for as long as the padding stayed
 * (red team 23, F3). 48 KiB leaves the reconciler about 15 KiB (hundreds of entries) per write.
 * A change that does not make the content larger than it is stays allowed, so a room whose event
 * is already larger (thousands of entries) can still be edited.
 */
export const POWER_LEVELS_GROWTH_BOUND_BYTES = 48 * 1024;

/** UTF-8 bytes of `value` as compact JSON (what Synapse's canonical form of a power-levels content comes to, within a few bytes). */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '');
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
 * the corporal user's own or raise a level it needs above it. Only users whose levels the reconciler enforces count (see
 * `ManagedLevelsIndex`), and v12+ creators (whose power is unlimited and who are never listed) are
 * skipped. Every other policy user whose level is guarded (`isRaiseGuarded`: inactive, or active
 * and not listed in the room) may go down or stay, never up ({@link raisesUnlistedPolicyUser}).
 *
 * Decided in two steps: the proposed content against the policy, then the room's current event
 * (read with the requester's token; without a reader the policy alone decides). A managed user
 * whose level the request does not change is not moved (a room that has drifted is the
 * reconciler's to fix, and must not block unrelated edits such as `events`); any user whose level
 * changes to something other than the policy's is. If the current event cannot be read, the change
 * is refused (fail closed: Synapse also refuses it from someone who cannot read the room's state).
 *
 * Only the empty state key is the room's power levels: `m.room.power_levels` under another state
 * key is inert to Synapse's authorisation. In a managed room it is refused to everyone but the
 * corporal user all the same, since it would swell what the reconciler reads of the room.
 */
export const roomStatePowerLevels: PolicyCheck = authenticatedCheck('json', (input, userId) => {
  const roomId = input.route.params['roomId'] ?? '';
  if (userId === input.corporalUserId) return ALLOW;
  if (input.route.params['stateKey'] !== '') {
    // Inert to Synapse's authorisation, but the reconciler reads every `m.room.power_levels`
    // event of a room whose whole state is too large to read at once (`?type=`), and as many of
    // them as rate limits allow would make that read fail too (red team 24, F1).
    return input.snapshot.managedRoomIds.has(roomId) ? DECISIONS.powerLevelsOtherStateKey : ALLOW;
  }
  if (isDelayedByNonCorporalUser(input, userId)) return DECISIONS.delayedPolicedEvent;
  if (!input.snapshot.managedRoomIds.has(roomId)) return ALLOW;
  const body = jsonObject(input.body);
  if (body === null) return DECISIONS.notJson;
  const users = ownField(body, 'users');
  const usersDefault = ownField(body, 'users_default');
  const moved: string[] = [];
  for (const [memberId, level] of input.levels.levelsIn(roomId)) {
    if (effectiveLevel(users, usersDefault, memberId) !== level) moved.push(memberId);
  }
  if (input.currentPowerLevels === undefined) {
    // No reader (credentials that are not a token): the policy alone decides, and the size bound
    // applies to the proposed content as it is.
    if (moved.length > 0) return DECISIONS.powerLevels;
    return growsPastBound(body, 0) ? DECISIONS.powerLevelsTooLarge : ALLOW;
  }
  return compareWithCurrent(input, roomId, body, moved, users, usersDefault);
});

/**
 * True when the proposed content takes power from the corporal user (not a creator): its level
 * lowered, or a level it needs ({@link corporalThresholds}) raised above its new level. A v12
 * creator, whose own power is unlimited, could otherwise raise `kick`, `ban`, `invite` or the
 * power-levels send level above the corporal's 100 and lock the reconciler out of the room without
 * touching its level. A threshold that is already above it and not raised further is left alone:
 * the room has drifted, and unrelated edits must not be blocked by it.
 */
function outranksCorporal(body: Readonly<Record<string, unknown>>, proposedLevel: number, current: CurrentPowerLevels, corporal: string): boolean {
  // Written as negated `>=`/`<=` so that a level Corporal cannot read (NaN, for which every
  // comparison is false) counts as outranking: fail closed (red team 9, O1). Synapse refuses such
  // proposed content from local clients anyway. A *current* event with an unreadable level (an old
  // room version, a federated event) makes every change by others refused here: also fail closed.
  if (!(proposedLevel >= currentLevel(current, corporal))) return true;
  const proposed = corporalThresholds(body);
  for (const threshold of Object.keys(proposed) as CorporalThreshold[]) {
    if (!(proposed[threshold] <= proposedLevel) && !(proposed[threshold] <= current.thresholds[threshold])) return true;
  }
  return false;
}

/**
 * The second step, on the room's current event: managed users' levels (see above), and the
 * corporal user's power, which nobody else may reduce in a managed room (the reconciler kicks,
 * invites and sets levels there as that user; {@link outranksCorporal}). Unreadable → refused
 * (fail closed).
 */
async function compareWithCurrent(
  input: CheckInput,
  roomId: string,
  body: Readonly<Record<string, unknown>>,
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
  if (!current.creators.has(corporal) && outranksCorporal(body, effectiveLevel(users, usersDefault, corporal), current, corporal)) {
    return DECISIONS.corporalUserProtected;
  }
  for (const memberId of moved) {
    if (current.creators.has(memberId)) continue;
    if (effectiveLevel(users, usersDefault, memberId) !== currentLevel(current, memberId)) return DECISIONS.powerLevels;
  }
  if (raisesUnlistedPolicyUser(input, roomId, users, usersDefault, current)) return DECISIONS.powerLevels;
  return growsPastBound(body, current.contentBytes ?? 0) ? DECISIONS.powerLevelsTooLarge : ALLOW;
}

/**
 * True when the proposed content is over {@link POWER_LEVELS_GROWTH_BOUND_BYTES} and larger than
 * the current content (`currentBytes`; 0 when it could not be compared: then the bound alone decides).
 */
function growsPastBound(body: Readonly<Record<string, unknown>>, currentBytes: number): boolean {
  const proposedBytes = jsonBytes(body);
  return proposedBytes > POWER_LEVELS_GROWTH_BOUND_BYTES && proposedBytes > currentBytes;
}

/**
 * True when the proposed content raises a raise-guarded policy user ({@link isRaiseGuarded}:
 * inactive, or active with managed levels) whom the room does not list (`levelsIn`; listed users
 * are held to the policy's level above) above their current effective level
 * (`users[u] ?? users_default`). The reconciler never raises such a user there: it kicks them from
 * rooms their policy does not list, and sets their level only once the policy lists them. A user
 * raised to the corporal user's level could never be kicked, nor lowered to the policy's level
 * (red team 12, F3 for inactive users; red team 22, F3 for active users the room does not list). A
 * `users_default` raise, or an entry dropped under a raised default, lifts them as surely as an
 * entry does (verification round 13, F2).
 *
 * In time linear in the two events' `users`, not in the policy's size (a room admin can repeat the
 * request; verification round 13b): users with an entry in either event are looked up one by one;
 * every other guarded user the room does not list — in the room or not, as the gateway does not
 * read the membership — moves from the current `users_default` to the proposed one, so a raise of
 * it is refused while there is one such user (in practice always: a policy's users are rarely all
 * listed in one room, and the listed ones without an entry are held to the policy above).
 * Lowering, or leaving, stays allowed.
 */
function raisesUnlistedPolicyUser(input: CheckInput, roomId: string, users: unknown, usersDefault: unknown, current: CurrentPowerLevels): boolean {
  const withEntry = new Set(Object.keys(current.users));
  if (typeof users === 'object' && users !== null && !Array.isArray(users)) for (const userId of Object.keys(users)) withEntry.add(userId);
  const listed = input.levels.levelsIn(roomId);
  let guardedWithEntry = 0;
  for (const userId of withEntry) {
    if (listed.has(userId)) continue;
    const policyUser = input.snapshot.users.get(userId);
    if (policyUser === undefined || !isRaiseGuarded(policyUser.active, policyUser.powerLevelsManaged)) continue;
    guardedWithEntry += 1;
    if (current.creators.has(userId)) continue;
    // Negated `<=`: an unreadable level, proposed or current, counts as a raise (fail closed).
    if (!(effectiveLevel(users, usersDefault, userId) <= currentLevel(current, userId))) return true;
  }
  // Every listed user is guarded too (active, managed levels), so this is the unlisted rest.
  const guardedWithoutEntry = input.levels.raiseGuardedCount() - listed.size - guardedWithEntry;
  const proposedDefault = usersDefault === undefined ? 0 : parsePowerLevel(usersDefault);
  return guardedWithoutEntry > 0 && !(proposedDefault <= current.usersDefault);
}
