import type { SnapshotUser } from '../../policy/snapshot.js';
import type { ObservedRoom } from '../state.js';
import { corporalLevel, effectiveLevel } from './corporal-standing.js';
import { levelChangeRefusal } from './level-settable.js';
import { warn, type PlanContext } from './plan-context.js';

/**
 * Adds the user's policy level to the room's group when it differs from the effective current one
 * (`users[user] ?? users_default`). matrix-corporal set the level on every join; an equal level is
 * a no-op write of the whole power-levels event, so it is skipped. Schema-1 users
 * (`powerLevelsManaged: false`) and room creators are never touched: a v12 creator has unlimited
 * power, and MSC4289 forbids listing them in the event's `users`; a creator gets a
 * `plan.user_is_creator` warning instead, since the policy's level has no effect on them. A change
 * Synapse would refuse the corporal user (see `levelChangeRefusal`) is a `plan.level_not_settable`
 * warning instead: the room's one write carries every user, so a single refused entry would drop
 * the others' changes.
 * A change to a level Corporal could not lower again is planned with `plan.level_irreversible`.
 */
export function planPowerLevel(ctx: PlanContext, user: SnapshotUser, room: ObservedRoom, level: number): void {
  if (!user.powerLevelsManaged) return;
  if (room.creators.has(user.id)) {
    // The policy's level has no effect on a creator: say so, or an operator adopting a
    // user-created v12 room cannot tell (red team 12, F5).
    warn(ctx, 'plan.user_is_creator', user.id, room.roomId,
      `${user.id} should have level ${level} in ${room.roomId}, but is a creator of that room (room v12): a creator's power is unlimited and no power-levels change can lower it`);
    return;
  }
  if (effectiveLevel(room, user.id) === level) return;
  const refusal = levelChangeRefusal(room, ctx.options.corporalUserId, user.id, level);
  if (refusal !== null) {
    warn(ctx, 'plan.level_not_settable', user.id, room.roomId, `${user.id} should have level ${level} in ${room.roomId}, but Synapse would refuse it: ${refusal}`);
    return;
  }
  warnIfIrreversible(ctx, user.id, room, level);
  let group = ctx.levelGroups.get(room.roomId);
  if (group === undefined) {
    group = {};
    ctx.levelGroups.set(room.roomId, group);
  }
  group[user.id] = level;
}

/**
 * `plan.level_irreversible` when the planned `level` is not below the corporal user's own: Synapse
 * allows the grant (equal is allowed) but never lets the corporal user lower that entry again
 * (day-2 review 19, finding 4), so a later demotion in the policy would only be
 * `plan.level_not_settable` on every pass. Still planned: the policy asks for it, and
 * matrix-corporal set it too. A v12 creator corporal user (`corporalLevel` is then unlimited) can
 * lower anyone: no warning.
 */
function warnIfIrreversible(ctx: PlanContext, userId: string, room: ObservedRoom, level: number): void {
  const own = corporalLevel(room, ctx.options.corporalUserId);
  if (level < own) return;
  warn(ctx, 'plan.level_irreversible', userId, room.roomId,
    `${userId} gets level ${level} in ${room.roomId}, not below the corporal user's own (${own}): once set, Corporal cannot lower it again (Synapse lets nobody lower a level that is not below their own); to keep that possible, give the corporal user a higher level there first, or ask for a lower level`);
}
