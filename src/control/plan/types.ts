import type { Action } from '../actions.js';

/** Inputs of the planner besides the observed and desired state. */
export interface PlanOptions {
  /**
   * Config `Reconciliation.DeactivatedDisplayNameMarker`: when a user is deactivated, first set
   * their display name to `"[x] " + name` (a `user.set_display_name` just before `user.deactivate`).
   */
  deactivatedDisplayNameMarker: boolean;
  /**
   * Config `Matrix.AuthSharedSecret`, the key of the derived password put into `user.create`.
   * A secret: the planner never logs it, and neither may its callers.
   */
  authSharedSecret: string;
  /**
   * Config `Corporal.UserID`. The reconciler never acts on its own account, even when the policy
   * lists it: locking, logging out, leaving rooms or changing its password would lock Corporal out
   * of the admin API (and a lock cannot be undone without another admin). Loading a policy leaves
   * such an entry out (policy/corporal-user-entry.ts); one that reaches the planner anyway (a
   * snapshot compiled without `Corporal.UserID`) gives a `plan.corporal_user_in_policy` warning.
   */
  corporalUserId: string;
  /**
   * Plan only for these policy users (a run for "only the changed users"); `null` or absent = all.
   * Each user's actions and warnings are the same as in a full plan; a power-level group then only
   * holds the filtered users' levels.
   */
  users?: ReadonlySet<string> | null;
  /**
   * Users whose `user.deactivate` left work undone after it locked them: delayed events not
   * cancelled, devices not deleted (the reconciler's memory, `ReconcileLoop`). For such a user who is still locked and inactive in
   * the policy, a `user.finish_lock` is planned first. Absent = none.
   */
  locksUnfinished?: ReadonlySet<string>;
}

/** Stable codes of the planner's warnings (they appear identically in logs and fixtures). */
export type PlanWarningCode =
  /** A `joinedRooms` room that is not in `managedRoomIds`: skipped (as matrix-corporal does). */
  | 'plan.room_not_managed'
  /** The user must be in a managed room they are banned from: Corporal does not unban, join skipped. */
  | 'plan.user_banned'
  /**
   * The user's level in a managed room cannot be changed by the corporal user (their current entry
   * is at or above its level, or the policy level is above it): not planned, the room's other users
   * still are.
   */
  | 'plan.level_not_settable'
  /**
   * The user's level in a managed room is set (planned) to a value not below the corporal user's
   * own, in a room where it is not a creator: Synapse will never let the corporal user lower it
   * again. Planned all the same.
   */
  | 'plan.level_irreversible'
  /** The account is deactivated (erased) on the homeserver but active in the policy: nothing planned. */
  | 'plan.account_erased'
  /** The policy lists `Corporal.UserID`: Corporal never reconciles its own account, nothing planned. */
  | 'plan.corporal_user_in_policy'
  /**
   * No account has the policy's id, but one differs from it only in case: nothing planned (creating
   * the id fails in Synapse, and the gateway refuses the other account until the policy names it).
   */
  | 'plan.user_id_case_mismatch'
  /**
   * The user's account data could not be read (`ObservedUser.accountDataError`): the password
   * migration and the avatar are not planned for them; everything else is.
   */
  | 'plan.account_data_unreadable'
  /**
   * A locked user must leave a managed room, but Synapse would refuse the corporal user's kick (it
   * is below `kick`, or not above the user's level, or the user is a v12 creator): not planned. In a
   * room the corporal user is not joined to, the kick is held instead (`plan.leaves_held`).
   */
  | 'plan.kick_not_possible'
  /**
   * The user is a creator of a managed room (room v12+), whose power is unlimited whatever the
   * policy's level: nothing planned for their level there.
   */
  | 'plan.user_is_creator'
  /**
   * Room warning (full plans only, `userId` is the corporal user): the corporal user is not joined
   * to a readable managed room, nor invited to it (an invitation it accepts: `room.corporal_join`),
   * so power-level changes will fail there, and its members' leaves and kicks are held
   * (`plan.leaves_held`), as are joins unless the room is public (`plan.joins_held`).
   */
  | 'plan.corporal_not_joined'
  /**
   * Room warning (full plans only, `userId` is the corporal user): the corporal user's level in a
   * readable managed room is below `kick`, `invite` or the level to send `m.room.power_levels`.
   */
  | 'plan.corporal_lacks_power'
  /**
   * Room warning (full plans only, `userId` is the corporal user): policy users joined to a
   * readable managed room that the policy does not list there would leave (or be kicked), but the
   * corporal user is not joined to it: those leaves are not planned; the message says how many
   * and names the first five users.
   */
  | 'plan.leaves_held'
  /**
   * Room warning (full plans only, `userId` is the corporal user): policy users should be joined to
   * a readable managed room that is not public and that the corporal user is not joined to: those
   * joins are not planned (Synapse's admin join API would refuse them); the message says how many
   * and names the first five users.
   */
  | 'plan.joins_held'
  /**
   * Room warning (full plans only, `userId` is the corporal user): the room's `m.room.power_levels`
   * holds values that are not integers (`ObservedRoom.nonIntegerLevels`): no levels are written
   * there, and the corporal user's own power is not checked.
   */
  | 'plan.power_levels_not_integers'
  /**
   * Room warning (full plans only, `userId` is the corporal user): the room has an
   * `m.room.tombstone` naming a replacement room (`ObservedRoom.replacementRoom`), which clients
   * move their users to; the policy still manages this one.
   */
  | 'plan.room_replaced'
  /**
   * Room warning (full plans only, `userId` is the corporal user): the corporal user accepts its
   * invitation to the room first (`room.corporal_join`), and the room is planned by the pass right
   * after the join; the message says how many leaves, joins and level changes that pass would plan
   * as things stand, so that a dry run shows them.
   */
  | 'plan.room_after_join';

/** Something the planner could not do, for the operator. Never holds a secret. */
export interface PlanWarning {
  code: PlanWarningCode;
  userId: string;
  /** The room concerned, or `null` when the warning is about the account. */
  roomId: string | null;
  message: string;
}

/** A managed room for which nothing was planned because its state could not be read. */
export interface SkippedRoom {
  roomId: string;
  /** The observer's error, or why the room has no usable state. */
  reason: string;
  /** Present when the failure may pass (a timeout, a 5xx): the loop then retries the run's users. */
  retryable?: true;
}

/**
 * The planner's result. `actions` run in order: the corporal user's `room.corporal_join`s (full
 * plans, `managedRoomIds` order), then per user (policy order) activation, password,
 * profile and membership actions, then one `room.users_set_power_levels` per room (rooms in the
 * order they first appear in the policy's `joinedRooms`). `user.create` actions carry a password: log actions through `redactAction` only.
 */
export interface Plan {
  actions: Action[];
  warnings: PlanWarning[];
  /** Unreadable (or unobserved) managed rooms, in `managedRoomIds` order. */
  skippedRooms: SkippedRoom[];
}
