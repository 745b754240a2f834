import { corporalLevel, missingActionLevels, nonIntegerLevelsSummary } from './corporal-standing.js';
import { warn, type PlanContext } from './plan-context.js';
import { firstFew } from '../../common/first-few.js';
import { plural } from '../../common/plural.js';
import type { ObservedRoom } from '../state.js';
import type { PlanWarningCode } from './types.js';

/**
 * Room warnings, for each readable managed room in `managedRoomIds` order: `plan.room_replaced`
 * when the room has a tombstone naming its replacement; then about what the corporal user can do
 * there: `plan.corporal_not_joined` when it is not joined; `plan.power_levels_not_integers`
 * when the room's power levels hold values that are not integers, so that Corporal neither writes
 * them nor can tell every level (red team 12, F4); otherwise `plan.corporal_lacks_power` when its
 * level is below one the reconciler needs (kick, invite, send `m.room.power_levels`; a v12 creator
 * has them all). The gateway refuses demotions and kicks of the corporal user, but only for
 * requests that pass through it: a remote server, a v12 creator on another homeserver or an
 * appservice talking to Synapse directly can still do either (red team 12, F2), and Corporal would
 * otherwise only find out when an action fails. Checked on every full plan, so status and alerts
 * show it before that; the warnings name the corporal user as `userId`.
 */
export function warnAboutRooms(ctx: PlanContext): void {
  const corporal = ctx.options.corporalUserId;
  for (const room of ctx.readableRooms.values()) {
    if (room.replacementRoom !== null) {
      // The gateway refuses tombstones in managed rooms, but a remote server or a client talking
      // to Synapse directly can still send one; clients then move their users to the new room,
      // while the policy keeps them in this one (red team 12).
      warn(ctx, 'plan.room_replaced', corporal, room.roomId,
        `${room.roomId} has an m.room.tombstone naming ${room.replacementRoom} as its replacement: clients will move users there, but the policy still manages ${room.roomId}; list the new room in the policy (or drop the old one) if the move is intended`);
    }
    if (!room.joinedMembers.has(corporal)) {
      warn(ctx, 'plan.corporal_not_joined', corporal, room.roomId,
        `the corporal user ${corporal} is not joined to ${room.roomId}: it cannot kick or set power levels there, nor join users to it unless it is public; ${joinAdvice(room, corporal)}`);
    }
    if (room.nonIntegerLevels.length > 0) {
      warn(ctx, 'plan.power_levels_not_integers', corporal, room.roomId,
        `m.room.power_levels in ${room.roomId} holds values that are not integers (${nonIntegerLevelsSummary(room)}): Synapse refuses such content in a new event, so Corporal sets no levels there and cannot check its own power; have a room admin send the event again with integers`);
      continue;
    }
    const missing = missingActionLevels(room, corporal);
    if (missing.length > 0) {
      warn(ctx, 'plan.corporal_lacks_power', corporal, room.roomId,
        `the corporal user's level in ${room.roomId} (${corporalLevel(room, corporal)}) is below the level to ${missing.join(', to ')}; the reconciler's actions that need it will fail there`);
    }
  }
}

/**
 * The held-membership warnings, each once per readable managed room (in `managedRoomIds` order),
 * `plan.leaves_held` for every room first, then `plan.joins_held`; full plans only, after the
 * users' warnings; `userId` is the corporal user.
 *
 * - `plan.leaves_held`: `ctx.heldLeaves` lists users whose leaves were not planned because the
 *   corporal user is not joined there. A leave as the user needs no power, but from a room Corporal
 *   is not in it could take out the last member who can invite anyone back (the last member, in an
 *   invite-only room), and Corporal could not repair that.
 * - `plan.joins_held`: `ctx.heldJoins` lists users whose joins were not planned: the corporal user
 *   is not joined there and the room is not public, so Synapse's admin join API, which has the admin
 *   invite the user first, would refuse every one of them on every pass.
 */
export function warnAboutHeldMemberships(ctx: PlanContext): void {
  const corporal = ctx.options.corporalUserId;
  warnPerRoom(ctx, ctx.heldLeaves, 'plan.leaves_held', (room, held) =>
    `${plural(held.length, 'leave')} from ${room.roomId} held (${firstFew(held)}): the corporal user ${corporal} is not joined to it, so Corporal takes none of its members out (it could not let anyone back in, and the last one out would leave the room empty for good); ${joinAdvice(room, corporal)}, and the leaves are planned again`);
  warnPerRoom(ctx, ctx.heldJoins, 'plan.joins_held', (room, held) =>
    `${plural(held.length, 'join')} to ${room.roomId} held (${firstFew(held)}): the corporal user ${corporal} is not joined to it and it is not public (${room.joinRule === null ? 'no join rule' : `join rule ${room.joinRule}`}), so Synapse would refuse to join anyone there for Corporal; ${joinAdvice(room, corporal)}, and the joins are planned again`);
}

/** One `code` warning per readable managed room that `held` lists users for, in `managedRoomIds` order. */
function warnPerRoom(ctx: PlanContext, held: ReadonlyMap<string, string[]>, code: PlanWarningCode, message: (room: ObservedRoom, held: string[]) => string): void {
  for (const room of ctx.readableRooms.values()) {
    const users = held.get(room.roomId);
    if (users !== undefined) warn(ctx, code, ctx.options.corporalUserId, room.roomId, message(room, users));
  }
}

/**
 * What gets the corporal user into a room it is not joined to: power first, then an invitation,
 * which Corporal accepts once it has that power (`plan-corporal-joins.ts`).
 */
function joinAdvice(room: ObservedRoom, corporal: string): string {
  if (!room.invitedMembers.has(corporal)) return 'give it enough power and invite it to the room (Corporal accepts the invitation on its next full pass)';
  // Raising it cannot help while Corporal cannot read the levels (plan.power_levels_not_integers).
  return room.nonIntegerLevels.length > 0
    ? 'it is invited, but Corporal accepts the invitation only where it can read the power levels: have a room admin send m.room.power_levels again with integers, with its level at kick, invite and m.room.power_levels'
    : 'it is invited, but Corporal accepts the invitation only once its level there reaches kick, invite and m.room.power_levels: raise it';
}
