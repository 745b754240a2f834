/**
 * Reconciliation actions: what the planner decides and the applier executes. Action types are the
 * stable strings of matrix-corporal (`user.create`, `room.join`, …) plus Corporal's own
 * (`user.set_password`); a kick is a `room.leave` with `viaKick`.
 */
export type Action =
  | UserCreateAction
  | UserSetPasswordAction
  | UserSetDisplayNameAction
  | UserSetAvatarAction
  | UserActivateAction
  | UserDeactivateAction
  | UserFinishLockAction
  | RoomJoinAction
  | RoomLeaveAction
  | RoomCorporalJoinAction
  | RoomUsersSetPowerLevelsAction;

/** Every action type string. */
export type ActionType = Action['type'];

/**
 * Create the account. `password` is the derived password for non-passthrough users (they log in
 * through Corporal) and `authCredential` (the initial password) for passthrough users.
 */
export interface UserCreateAction {
  type: 'user.create';
  userId: string;
  password: string;
  /** True when `password` is the derived password (the applier records that in account data). */
  passwordIsDerived: boolean;
}

/** Give an existing non-passthrough account the derived password once (migration from matrix-corporal). */
export interface UserSetPasswordAction {
  type: 'user.set_password';
  userId: string;
}

/** Set the display name ("" removes it). */
export interface UserSetDisplayNameAction {
  type: 'user.set_display_name';
  userId: string;
  displayName: string;
}

/** Upload the avatar from `avatarUri` (`data:`/http(s); "" removes it) and record its source hash. */
export interface UserSetAvatarAction {
  type: 'user.set_avatar';
  userId: string;
  avatarUri: string;
}

/**
 * Unlock the account. The profile is not touched: when matrix-corporal's "[x] " display-name marker
 * must go, the planner emits a `user.set_display_name` after this action.
 */
export interface UserActivateAction {
  type: 'user.activate';
  userId: string;
}

/**
 * Cancel the user's pending delayed events, lock the account and revoke its sessions (admin-minted
 * tokens included). The profile is not touched: with `Reconciliation.DeactivatedDisplayNameMarker`
 * the planner emits the marked `user.set_display_name` just before this action.
 */
export interface UserDeactivateAction {
  type: 'user.deactivate';
  userId: string;
}

/**
 * Corporal's own: finish what a `user.deactivate` left undone after it locked the account (its
 * cancellation of the user's delayed events or its deletion of the devices failed, or its deadline
 * passed): delete the devices while still locked, unlock, cancel the pending delayed events as the
 * user (a locked user's tokens are refused), lock again. Planned only for a locked inactive user the
 * reconciler knows this of (`PlanOptions.locksUnfinished`), before the user's leaves.
 */
export interface UserFinishLockAction {
  type: 'user.finish_lock';
  userId: string;
}

/** Join the user to a managed room (admin join API; invites first when needed). */
export interface RoomJoinAction {
  type: 'room.join';
  userId: string;
  roomId: string;
}

/**
 * Take the user out of a managed room: as the user (short-lived admin-minted token, logged out
 * afterwards), or by a kick from the corporal user when the account is locked.
 */
export interface RoomLeaveAction {
  type: 'room.leave';
  userId: string;
  roomId: string;
  /** The account is locked (its tokens are refused), so the corporal user kicks instead. */
  viaKick: boolean;
}

/**
 * The corporal user accepts its invitation to a managed room (Corporal's own action; matrix-corporal
 * needed it joined by hand): it joins as itself (`POST /_matrix/client/v3/rooms/{roomId}/join`).
 * Planned by full passes only, before every other action, for a readable managed room it is invited
 * to, not joined to, and already has the power to manage; nothing else is planned for that room
 * until it is joined (see `plan-corporal-joins.ts`).
 */
export interface RoomCorporalJoinAction {
  type: 'room.corporal_join';
  roomId: string;
}

/** Set several users' power levels in one room (one read-modify-write of `m.room.power_levels`). */
export interface RoomUsersSetPowerLevelsAction {
  type: 'room.users_set_power_levels';
  roomId: string;
  /** userId → level, in first-seen (policy) order. */
  levels: Readonly<Record<string, number>>;
}
