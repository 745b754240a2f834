import { PackedUserMap } from '../../policy/packed-users.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';

const NO_LEVELS: ReadonlyMap<string, number> = new Map();

/**
 * True for a policy user whose level nobody but the corporal user may raise in any managed room
 * (besides a move to the policy's own level where the room lists them, `levelsIn`): every inactive
 * user, and every active user whose levels are managed (schema 2), listed in the room or not. A
 * level the policy did not ask for could otherwise be planted on them, at the corporal user's level
 * if the room admin has it, and the reconciler could then never lower it nor kick them (Synapse lets
 * nobody act on a level that is not below their own; red team 12 F3, red team 22 F3). Active
 * schema-1 users (`powerLevelsManaged: false`) are left out: their policy manages no levels, so
 * room admins set them by hand, as with matrix-corporal 2.x (docs/policy.md, schema version 1).
 */
export function isRaiseGuarded(active: boolean, powerLevelsManaged: boolean): boolean {
  return !active || powerLevelsManaged;
}

/**
 * For each managed room, the managed users whose power level the policy enforces there, with that
 * level: active users whose `joinedRooms` list the room and whose power levels are managed
 * (schema-1 users are not), exactly the users the reconciler sets levels for.
 *
 * One instance per snapshot, owned by the gateway thread next to the pinned snapshot. A room is
 * computed on first use (one pass over the users) and kept: power-levels changes in managed rooms
 * are rare, and most rooms are never asked about, so nothing is built up front.
 */
export class ManagedLevelsIndex {
  private readonly byRoom = new Map<string, ReadonlyMap<string, number>>();
  private guardedCount: number | null = null;

  constructor(private readonly snapshot: PolicySnapshot) {}

  /** User id → required level in `roomId`; empty when the room is not managed. */
  levelsIn(roomId: string): ReadonlyMap<string, number> {
    if (!this.snapshot.managedRoomIds.has(roomId)) return NO_LEVELS;
    let levels = this.byRoom.get(roomId);
    if (levels === undefined) {
      const computed = new Map<string, number>();
      const users = this.snapshot.users;
      if (users instanceof PackedUserMap) {
        // A gateway thread's snapshot: scan the packed arrays, never materialise every user.
        users.forEachEnforcedLevel(roomId, (userId, level) => computed.set(userId, level));
      } else {
        for (const user of users.values()) {
          if (!user.active || !user.powerLevelsManaged) continue;
          const level = user.joinedRooms.get(roomId);
          if (level !== undefined) computed.set(user.id, level);
        }
      }
      levels = computed;
      this.byRoom.set(roomId, levels);
    }
    return levels;
  }

  /**
   * How many of the policy's users are raise-guarded ({@link isRaiseGuarded}), whatever their
   * rooms: one pass over the packed flags on first use (no user object built), kept for the
   * snapshot. Their levels must not rise in a managed room (see `roomStatePowerLevels`).
   */
  raiseGuardedCount(): number {
    if (this.guardedCount === null) {
      const users = this.snapshot.users;
      if (users instanceof PackedUserMap) {
        this.guardedCount = users.countByFlags(isRaiseGuarded);
      } else {
        let count = 0;
        for (const user of users.values()) if (isRaiseGuarded(user.active, user.powerLevelsManaged)) count += 1;
        this.guardedCount = count;
      }
    }
    return this.guardedCount;
  }
}
