import type { Action } from '../actions.js';
import type { ObservedRoom } from '../state.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import type { PlanOptions, PlanWarning, PlanWarningCode } from './types.js';

/** The mutable accumulator of one `planReconciliation` call (never shared between calls). */
export interface PlanContext {
  readonly policy: PolicySnapshot;
  readonly options: PlanOptions;
  /** Managed rooms whose state was read, by id; the others are in `Plan.skippedRooms`. */
  readonly readableRooms: ReadonlyMap<string, ObservedRoom>;
  /** Policy user → readable managed rooms they are joined to, in `managedRoomIds` order. */
  readonly joinedManagedRooms: ReadonlyMap<string, readonly string[]>;
  readonly actions: Action[];
  readonly warnings: PlanWarning[];
  /** roomId → userId → level (users in policy order); the rooms are put in order when the groups are appended. */
  readonly levelGroups: Map<string, Record<string, number>>;
  /** roomId → the users whose leave (or kick) was held there because the corporal user is not joined, in policy order. */
  readonly heldLeaves: Map<string, string[]>;
  /** roomId → the users whose join was held there because the corporal user is not joined and the room is not public, in policy order. */
  readonly heldJoins: Map<string, string[]>;
}

/** Adds `userId` to `roomId`'s list in `held` (`PlanContext.heldLeaves`, `heldJoins`). */
export function hold(held: Map<string, string[]>, roomId: string, userId: string): void {
  const users = held.get(roomId);
  if (users === undefined) held.set(roomId, [userId]);
  else users.push(userId);
}

/** Records a warning. */
export function warn(ctx: PlanContext, code: PlanWarningCode, userId: string, roomId: string | null, message: string): void {
  ctx.warnings.push({ code, userId, roomId, message });
}
