import type { PolicySnapshot } from '../../policy/snapshot.js';
import type { ObservedRoom, ObservedState } from '../state.js';
import { warn, type PlanContext } from './plan-context.js';
import { warnAboutHeldMemberships, warnAboutRooms } from './plan-room-warnings.js';
import { planUser } from './plan-user.js';
import { afterJoining, corporalJoins, roomsToJoin, warnAboutRoomsAfterJoin } from './plan-corporal-joins.js';
import type { Plan, PlanOptions, SkippedRoom } from './types.js';

/**
 * Computes the actions that bring the homeserver from `observed` to `policy` (matrix-corporal's
 * Computator with Corporal's fixes; rules in docs/reconciliation.md).
 *
 * Pure and deterministic: no I/O, no clock, no logging, inputs untouched; the output depends on
 * the policy's order only (users in `policy.users` order, each user's rooms in `joinedRooms`
 * order, leaves and skipped rooms in `managedRoomIds` order, power-level groups in the order their
 * rooms are first seen in the policy), never on the iteration order of `observed`.
 * Users not in the policy are never touched, nor is the corporal user (`options.corporalUserId`),
 * except that a full plan has it accept its invitations to managed rooms first
 * (`plan-corporal-joins.ts`; those rooms are planned by the next pass).
 */
export function planReconciliation(observed: ObservedState, policy: PolicySnapshot, options: PlanOptions): Plan {
  const only = options.users ?? null;
  // An observation that left rooms unread holds only some users' part: planned for everyone, it
  // would silently drop those rooms' leaves and create every unobserved user (verify 14b).
  if (only === null && (observed.unreadRooms?.size ?? 0) > 0) {
    throw new Error('an observation of a few users (with managed rooms left unread) cannot make a full plan: pass the same users');
  }
  const readableRooms = new Map<string, ObservedRoom>();
  const skippedRooms: SkippedRoom[] = [];
  for (const roomId of policy.managedRoomIds) {
    const room = observed.rooms.get(roomId);
    if (room === undefined && observed.unreadRooms?.has(roomId) === true) continue;
    if (room === undefined) skippedRooms.push({ roomId, reason: 'room was not observed' });
    else if (!room.readable) skippedRooms.push({ roomId, reason: room.error ?? 'room state could not be read', ...(room.retryable === true ? { retryable: true as const } : {}) });
    else readableRooms.set(roomId, room);
  }
  // Rooms the corporal user is invited to wait for its join in every plan, so that a plan for a
  // few users stays the full plan's part for them; only a full plan makes the join (the follow-up
  // pass that plans a joined room is a full one).
  const joinedFirst = roomsToJoin(readableRooms, options.corporalUserId);
  for (const room of joinedFirst) readableRooms.delete(room.roomId);

  const ctx: PlanContext = {
    policy,
    options,
    readableRooms,
    joinedManagedRooms: joinedManagedRooms(policy, readableRooms),
    actions: only === null ? corporalJoins(joinedFirst) : [],
    warnings: [],
    levelGroups: new Map(),
    heldLeaves: new Map(),
    heldJoins: new Map(),
  };
  // Room warnings belong to full plans: a filtered plan holds only its users' part.
  if (only === null) {
    // What the pass after the joins will plan there, for dry runs: a full plan of the state once
    // joined (it has no invitation to accept there, so this goes one level deep).
    if (joinedFirst.length > 0) {
      const after = planReconciliation(afterJoining(observed, joinedFirst, options.corporalUserId), policy, options);
      warnAboutRoomsAfterJoin(ctx, joinedFirst, after);
    }
    warnAboutRooms(ctx);
  }
  for (const user of policy.users.values()) {
    if (only !== null && !only.has(user.id)) continue;
    // A backstop: snapshots compiled with Corporal.UserID never hold its entry (compile.ts).
    if (user.id === options.corporalUserId) {
      warn(ctx, 'plan.corporal_user_in_policy', user.id, null, `${user.id} is Corporal.UserID; Corporal never reconciles its own account, so its policy entry is ignored`);
      continue;
    }
    const current = observed.users.get(user.id) ?? null;
    const variant = current === null ? observed.caseVariants?.get(user.id) : undefined;
    if (variant !== undefined) {
      warn(ctx, 'plan.user_id_case_mismatch', user.id, null,
        `${user.id} has no account, but ${variant} differs from it only in case; name the account exactly in the policy (the gateway refuses ${variant} until then)`);
      continue;
    }
    planUser(ctx, user, current);
  }
  if (only === null) warnAboutHeldMemberships(ctx);
  appendLevelGroups(ctx);
  return { actions: ctx.actions, warnings: ctx.warnings, skippedRooms };
}

/**
 * Policy user → the readable managed rooms they are joined to, in `managedRoomIds` order: built
 * once from the room member lists so that planning leaves costs O(memberships), not O(users × rooms).
 */
function joinedManagedRooms(policy: PolicySnapshot, readableRooms: ReadonlyMap<string, ObservedRoom>): Map<string, string[]> {
  const byUser = new Map<string, string[]>();
  for (const room of readableRooms.values()) {
    for (const userId of room.joinedMembers) {
      if (!policy.users.has(userId)) continue;
      const rooms = byUser.get(userId);
      if (rooms === undefined) byUser.set(userId, [room.roomId]);
      else rooms.push(room.roomId);
    }
  }
  return byUser;
}

/**
 * Appends one `room.users_set_power_levels` per room with changes, after every other action.
 * Rooms come in the order they are first seen in the whole policy (users in policy order, rooms
 * in `joinedRooms` order), not in the order changes were found: that order ignores the users
 * filter, so a filtered plan is exactly the full plan's part for those users.
 */
function appendLevelGroups(ctx: PlanContext): void {
  let remaining = ctx.levelGroups.size;
  for (const user of ctx.policy.users.values()) {
    if (remaining === 0) return;
    for (const roomId of user.joinedRooms.keys()) {
      const levels = ctx.levelGroups.get(roomId);
      if (levels === undefined) continue;
      ctx.actions.push({ type: 'room.users_set_power_levels', roomId, levels });
      ctx.levelGroups.delete(roomId);
      remaining -= 1;
    }
  }
}
