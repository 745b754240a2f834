import { PackedUserMap } from '../../policy/packed-users.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';

const NO_LEVELS: ReadonlyMap<string, number> = new Map();

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
  private inactiveCount: number | null = null;

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
   * How many of the policy's users are inactive (locked on the homeserver), whatever their rooms:
   * one pass over the users on first use, kept for the snapshot. Their levels must not rise in a
   * managed room (see `roomStatePowerLevels`).
   */
  inactiveUserCount(): number {
    if (this.inactiveCount === null) {
      let count = 0;
      for (const user of this.snapshot.users.values()) if (!user.active) count += 1;
      this.inactiveCount = count;
    }
    return this.inactiveCount;
  }
}
