import { CorporalError } from '../../common/errors.js';
import type { RoomCorporalJoinAction, RoomJoinAction, RoomLeaveAction, RoomUsersSetPowerLevelsAction } from '../actions.js';
import { adminJoin, getJoinedMembers, getPowerLevels, join, kick, leave, putPowerLevels } from '../synapse/rooms-api.js';
import { isUpstreamStatus } from '../synapse/synapse-errors.js';
import type { ActionScope, ApplyContext } from './apply-context.js';

/** Reason shown on kicks by the reconciler. */
export const KICK_REASON = 'Removed by Corporal: not in this room according to the policy';

/**
 * `room.join`: the admin join API (Synapse invites first, as the corporal user, when the room is
 * not public). Synapse refuses (403) to join a user who is already joined; since the user may have
 * joined after the room was observed, a refusal is checked against the member list and a user who
 * is joined counts as done.
 */
export async function joinRoom(action: RoomJoinAction, ctx: ApplyContext): Promise<void> {
  try {
    await adminJoin(ctx.http, ctx.admin, action.roomId, action.userId);
  } catch (err) {
    if (!isUpstreamStatus(err, 403)) throw err;
    const members = await getJoinedMembers(ctx.http, ctx.admin, action.roomId);
    if (!members.includes(action.userId)) throw err;
  }
}

/**
 * `room.corporal_join`: the corporal user joins as itself, which accepts its invitation. Not the
 * admin join API: for a room that is not public it invites first, as the corporal user, which
 * cannot invite itself. Joining a room one is already joined to succeeds, so a join done in the
 * meantime by hand is not a failure.
 */
export async function corporalJoin(action: RoomCorporalJoinAction, ctx: ApplyContext): Promise<void> {
  await join(ctx.http, ctx.admin, action.roomId);
}

/**
 * `room.leave`: the user leaves with a short-lived token, or, for a locked account whose tokens
 * Synapse refuses (`viaKick`), the corporal user kicks. A failure is checked against the member
 * list: a user who is no longer joined counts as done.
 */
export async function leaveRoom(action: RoomLeaveAction, ctx: ApplyContext, scope: ActionScope): Promise<void> {
  try {
    if (action.viaKick) await kick(ctx.http, ctx.admin, action.roomId, action.userId, KICK_REASON);
    else await leave(ctx.http, scope.userToken(action.userId), action.roomId);
  } catch (err) {
    if (!isUpstreamStatus(err, 403) && !isUpstreamStatus(err, 404)) throw err;
    const members = await getJoinedMembers(ctx.http, ctx.admin, action.roomId);
    if (members.includes(action.userId)) throw err;
  }
}

/**
 * `room.users_set_power_levels`: one read-modify-write of `m.room.power_levels` as the corporal
 * user, read fresh (not from the observation) so that concurrent edits by room admins are kept;
 * only the listed users' entries change, and nothing is sent when they already hold those levels.
 * A room without a power-levels event is refused: creating one would strip its creator's implicit
 * power.
 */
export async function setPowerLevels(action: RoomUsersSetPowerLevelsAction, ctx: ApplyContext): Promise<void> {
  const content = await getPowerLevels(ctx.http, ctx.admin, action.roomId);
  if (content === null) {
    throw new CorporalError('CORP_ERR_ROOM_NO_POWER_LEVELS', `${action.roomId} has no m.room.power_levels event; Corporal does not create one`, { source: 'upstream', status: 409 });
  }
  const current = content['users'];
  const users: Record<string, unknown> = typeof current === 'object' && current !== null && !Array.isArray(current) ? { ...(current as Record<string, unknown>) } : {};
  let changed = false;
  for (const [userId, level] of Object.entries(action.levels)) {
    if (users[userId] === level) continue;
    users[userId] = level;
    changed = true;
  }
  if (changed) await putPowerLevels(ctx.http, ctx.admin, action.roomId, { ...content, users });
}
