/**
 * TEMPORARY stand-in for `planReconciliation` from `src/control/plan/` (branch `plan`, not merged
 * yet), with the same signature, so the reconciler's I/O can be tested end to end. It follows
 * matrix-corporal's Computator (reference §5.4) with Corporal's action set. Delete this file and
 * import the real planner once `plan` is merged.
 */
import type { Action } from '../../../src/control/actions.js';
import type { PlannerOptions, PlanResult, PlanWarning } from '../../../src/control/loop/planner.js';
import type { ObservedState } from '../../../src/control/state.js';
import { avatarSourceHash } from '../../../src/control/synapse/account-data-keys.js';
import { derivedPassword } from '../../../src/control/synapse/derived-password.js';
import type { PolicySnapshot } from '../../../src/policy/snapshot.js';

export function planReconciliation(observed: ObservedState, policy: PolicySnapshot, options: PlannerOptions): PlanResult {
  const actions: Action[] = [];
  const warnings: PlanWarning[] = [];
  const levelsByRoom = new Map<string, Record<string, number>>();
  const skippedRooms = [...observed.rooms.values()].filter((room) => !room.readable).map((room) => ({ roomId: room.roomId, reason: room.error ?? 'unreadable' }));
  for (const [userId, user] of policy.users) {
    if (options.users !== undefined && !options.users.has(userId)) continue;
    const current = observed.users.get(userId);
    if (current === undefined) {
      if (!user.active) continue;
      const derived = user.authType !== 'passthrough';
      actions.push({ type: 'user.create', userId, password: derived ? derivedPassword(options.authSharedSecret, userId) : user.authCredential, passwordIsDerived: derived });
    } else if (!user.active) {
      for (const room of observed.rooms.values()) {
        if (room.readable && room.joinedMembers.has(userId)) actions.push({ type: 'room.leave', userId, roomId: room.roomId, viaKick: current.locked });
      }
      if (!current.locked) actions.push({ type: 'user.deactivate', userId });
      continue;
    } else {
      if (current.locked) actions.push({ type: 'user.activate', userId });
      if (user.authType !== 'passthrough' && !current.derivedPasswordSet) actions.push({ type: 'user.set_password', userId });
    }
    const currentName = current?.displayName ?? '';
    if (current === undefined ? user.displayName !== '' : policy.flags.allowCustomUserDisplayNames ? currentName === '' && user.displayName !== '' : currentName !== user.displayName) {
      actions.push({ type: 'user.set_display_name', userId, displayName: user.displayName });
    }
    const currentHash = current?.avatarSourceUriHash ?? avatarSourceHash('');
    const noAvatar = avatarSourceHash('');
    if (current === undefined ? user.avatarUri !== '' : policy.flags.allowCustomUserAvatars ? currentHash === noAvatar && user.avatarUri !== '' : currentHash !== avatarSourceHash(user.avatarUri)) {
      actions.push({ type: 'user.set_avatar', userId, avatarUri: user.avatarUri });
    }
    for (const [roomId, level] of user.joinedRooms) {
      const room = observed.rooms.get(roomId);
      if (room === undefined) {
        warnings.push({ userId, roomId, message: 'room is not managed' });
        continue;
      }
      if (!room.readable) continue;
      const joined = current !== undefined && room.joinedMembers.has(userId);
      if (!joined) actions.push({ type: 'room.join', userId, roomId });
      if (!user.powerLevelsManaged || room.creators.has(userId)) continue;
      const effective = room.powerLevelUsers[userId] ?? room.usersDefault;
      if (!joined || effective !== level) {
        const levels = levelsByRoom.get(roomId) ?? {};
        levels[userId] = level;
        levelsByRoom.set(roomId, levels);
      }
    }
    if (current === undefined) continue;
    for (const room of observed.rooms.values()) {
      if (room.readable && room.joinedMembers.has(userId) && !user.joinedRooms.has(room.roomId)) actions.push({ type: 'room.leave', userId, roomId: room.roomId, viaKick: false });
    }
  }
  for (const [roomId, levels] of levelsByRoom) actions.push({ type: 'room.users_set_power_levels', roomId, levels });
  return { actions, warnings, skippedRooms };
}
