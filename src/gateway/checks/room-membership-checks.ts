import type { PolicySnapshot } from '../../policy/snapshot.js';
import { authenticatedCheck, type CheckInput, type PolicyCheck } from './check-input.js';
import { ALLOW, DECISIONS, type Decision } from './decision.js';
import { jsonObject, ownField } from '../json-body.js';
import { isDelayedByNonCorporalUser } from './delayed-events.js';
import { canUserChangeOwnMembershipStateInRoom } from '../../policy/permissions.js';
import type { AliasTarget } from './alias-resolver.js';

/**
 * Checks of the membership routes. Two rules of matrix-corporal (a managed user cannot leave, or
 * change their own member event in, a room the policy requires them in) and three of Corporal's
 * (docs/firewall.md): no joining or knocking on managed rooms the user's policy does not list,
 * and no removing a required member by anyone but the corporal user.
 */

/** Memberships that take the target out of the room (`kick` is `leave` to Synapse; `unban` only applies to banned users). */
const REMOVALS: ReadonlySet<string> = new Set(['leave', 'ban', 'kick']);
/** Memberships by which a user enters (or asks to enter) a room. */
const ENTRIES: ReadonlySet<string> = new Set(['join', 'knock']);

/** The policy requires `userId` in `roomId`: a managed user, the room listed in their `joinedRooms` and managed. */
function isRequiredMember(snapshot: PolicySnapshot, userId: string, roomId: string): boolean {
  return !canUserChangeOwnMembershipStateInRoom(snapshot, userId, roomId);
}

/**
 * Corporal: a managed user may enter a managed room only if their policy lists it. Unmanaged
 * users, unmanaged rooms and the corporal user are not restricted.
 */
export function entryDecision(input: CheckInput, userId: string, roomId: string): Decision {
  if (userId === input.corporalUserId || !input.snapshot.managedRoomIds.has(roomId)) return ALLOW;
  const user = input.snapshot.users.get(userId);
  if (user === undefined || user.joinedRooms.has(roomId)) return ALLOW;
  return DECISIONS.roomNotInPolicy;
}

/**
 * Corporal: removing `targetId` from `roomId` when the policy requires them there, by anyone but
 * the corporal user. The corporal user itself cannot be removed (kicked, banned) from a managed
 * room either: the reconciler acts there as that user (a v12 room's creator, whose power is
 * unlimited, could otherwise throw it out and take the room out of the policy's reach).
 */
function removalDecision(input: CheckInput, userId: string, targetId: string, roomId: string): Decision {
  if (userId === input.corporalUserId) return ALLOW;
  if (targetId === input.corporalUserId && input.snapshot.managedRoomIds.has(roomId)) return DECISIONS.corporalUserProtected;
  return isRequiredMember(input.snapshot, targetId, roomId) ? DECISIONS.requiredMember : ALLOW;
}

/** `room.leave` (matrix-corporal route 1). */
export const roomLeave: PolicyCheck = authenticatedCheck('whole', (input, userId) =>
  isRequiredMember(input.snapshot, userId, input.route.params['roomId'] ?? '') ? DECISIONS.deniedByPolicy : ALLOW,
);

/**
 * `room.kick` and `room.ban`: the target is the body's `user_id`. Removing yourself from a room the
 * policy requires you in is leaving it (matrix-corporal's self-kick rule, "Denied by policy");
 * removing anyone else the policy requires there is Corporal's rule. A `user_id` that is absent
 * lets the request through (Synapse answers 400 `M_MISSING_PARAM`); one that is not a string is
 * `M_BAD_JSON`, as matrix-corporal's typed decoding made it.
 */
export const roomKickOrBan: PolicyCheck = authenticatedCheck('json', (input, userId) => {
  const body = jsonObject(input.body);
  if (body === null) return DECISIONS.notJson;
  const target = ownField(body, 'user_id');
  if (target === undefined) return ALLOW;
  if (typeof target !== 'string') return DECISIONS.notJson;
  const roomId = input.route.params['roomId'] ?? '';
  if (target === userId) return isRequiredMember(input.snapshot, userId, roomId) ? DECISIONS.deniedByPolicy : ALLOW;
  return removalDecision(input, userId, target, roomId);
});

/**
 * `room.state.member`: `PUT …/state/m.room.member/{stateKey}` is a full membership API (the state
 * key is the target, `content.membership` the action, passed to the same `update_membership` as
 * the membership routes). Your own member event in a room the policy requires you in cannot
 * change at all (matrix-corporal, which also blocks per-room names and avatars there). Otherwise
 * your own `join`/`knock` goes through the entry rule and another member's `leave`/`kick`/`ban`
 * through the removal rule. A `membership` that is not a string is left to Synapse (400).
 */
export const roomStateMember: PolicyCheck = authenticatedCheck('json', (input, userId) => {
  const roomId = input.route.params['roomId'] ?? '';
  const target = input.route.params['stateKey'] ?? '';
  if (target === userId && isRequiredMember(input.snapshot, userId, roomId)) return DECISIONS.deniedByPolicy;
  if (isDelayedByNonCorporalUser(input, userId)) return DECISIONS.delayedPolicedEvent;
  const body = jsonObject(input.body);
  if (body === null) return DECISIONS.notJson;
  const membership = ownField(body, 'membership');
  if (typeof membership !== 'string') return ALLOW;
  if (target === userId) return ENTRIES.has(membership) ? entryDecision(input, userId, roomId) : ALLOW;
  return REMOVALS.has(membership) ? removalDecision(input, userId, target, roomId) : ALLOW;
});

/** `room.join` (`rooms/{roomId}/join`): Synapse takes the room id literally here (no alias lookup). */
export const roomJoin: PolicyCheck = authenticatedCheck('whole', (input, userId) =>
  entryDecision(input, userId, input.route.params['roomId'] ?? ''),
);

/**
 * `room.knock` (`knock/{roomIdOrAlias}`), and the entry rule of `room.join_by_alias`. Synapse
 * (`resolve_room_id`) takes a valid room id (`!…`) as is, resolves a valid alias (`#…`) through
 * the directory and refuses anything else with 400. An alias is resolved the same way here (only
 * when the answer can matter: a managed user, not the corporal user); when it cannot be resolved
 * the request is refused, since Synapse might resolve it to a managed room (fail closed).
 */
export const roomKnockByIdOrAlias: PolicyCheck = authenticatedCheck('whole', (input, userId) =>
  entryByIdOrAlias(input, userId, ALLOW_ENTRY));

/**
 * `room.join_by_alias` (`join/{roomIdOrAlias}[/{txnId}]`): the entry rule as for a knock, and one
 * more. Synapse copies this body into the member event (unlike `rooms/{id}/join` and knocks, which
 * keep only `reason`), so `displayname` or `avatar_url` there set a per-room name or avatar, even
 * for a user already joined (a join over a join is a new member event). In a room the policy
 * requires the user in, that is refused, as the same change through `state/m.room.member` is (red
 * team 9, F1). A body that is not a JSON object is refused there too (Synapse answers 400 anyway;
 * refusing keeps a body Corporal cannot read from ever reaching the member event).
 */
export const roomJoinByIdOrAlias: PolicyCheck = authenticatedCheck('json', (input, userId) =>
  entryByIdOrAlias(input, userId, (roomId) => joinBodyDecision(input, userId, roomId)));

/** The entry rule has allowed a join or knock into `roomId`: what else decides. */
type AfterEntry = (roomId: string) => Decision;

const ALLOW_ENTRY: AfterEntry = () => ALLOW;

/** Keys of a join body that Synapse puts in the member event as the user's per-room profile. */
const ROOM_PROFILE_KEYS = ['displayname', 'avatar_url'] as const;

function joinBodyDecision(input: CheckInput, userId: string, roomId: string): Decision {
  // An empty body is `{}` to Synapse, which then fills the member event from the global profile.
  if (!isRequiredMember(input.snapshot, userId, roomId) || input.body?.kind === 'empty') return ALLOW;
  const body = jsonObject(input.body);
  if (body === null) return DECISIONS.notJson;
  return ROOM_PROFILE_KEYS.some((key) => Object.hasOwn(body, key)) ? DECISIONS.deniedByPolicy : ALLOW;
}

function entryByIdOrAlias(input: CheckInput, userId: string, afterEntry: AfterEntry): Decision | Promise<Decision> {
  const identifier = input.route.params['roomIdOrAlias'] ?? '';
  if (!identifier.startsWith('#')) {
    const decision = entryDecision(input, userId, identifier);
    return decision.allow ? afterEntry(identifier) : decision;
  }
  if (userId === input.corporalUserId || !input.snapshot.users.has(userId) || input.snapshot.managedRoomIds.size === 0) return ALLOW;
  const resolve = input.resolveAlias;
  if (resolve === undefined) return DECISIONS.aliasUnresolvable;
  return resolveThenDecide(input, userId, identifier, resolve, afterEntry);
}

async function resolveThenDecide(
  input: CheckInput,
  userId: string,
  alias: string,
  resolve: (alias: string, requester: string) => Promise<AliasTarget | null>,
  afterEntry: AfterEntry,
): Promise<Decision> {
  let target: AliasTarget | null;
  try {
    target = await resolve(alias, userId);
  } catch {
    target = null;
  }
  if (target === null) return DECISIONS.aliasUnresolvable;
  const entry = entryDecision(input, userId, target.roomId);
  if (!entry.allow) return entry;
  const decision = afterEntry(target.roomId);
  return decision.allow ? { allow: true, pinnedRoom: target } : decision;
}
