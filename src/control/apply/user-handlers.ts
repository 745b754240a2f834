import { CorporalError, describeError } from '../../common/errors.js';
import type { UserActivateAction, UserFinishLockAction, UserCreateAction, UserDeactivateAction, UserSetAvatarAction, UserSetDisplayNameAction, UserSetPasswordAction } from '../actions.js';
import { derivedPassword } from '../../common/derived-password.js';
import { avatarUriHash } from '../plan/avatar-hash.js';
import { AVATAR_SOURCE_HASHES_KEY, PASSWORD_MARKER_KEY, passwordMarkerTag } from '../synapse/account-data-keys.js';
import { deleteDevices, listDeviceIds, putUser } from '../synapse/admin-users-api.js';
import { putAccountData, uploadMedia } from '../synapse/client-api.js';
import type { ActionScope, ApplyContext } from './apply-context.js';
import { readAvatarSource } from './avatar-source.js';
import { cancelPendingDelayedEvents } from './cancel-delayed-events.js';

/**
 * `user.create`: `PUT /_synapse/admin/v2/users/{id}` with the password and `admin: false`, then,
 * for a derived password, the marker that says so. `logout_devices: true`: a new account has no
 * sessions, and an account that appeared since it was observed was made by someone else (an SSO
 * or appservice registration, which the gateway does not see) and keeps none of theirs.
 */
export async function createUser(action: UserCreateAction, ctx: ApplyContext, scope: ActionScope): Promise<void> {
  await putUser(ctx.http, ctx.admin, action.userId, { password: action.password, admin: false, logout_devices: true });
  if (action.passwordIsDerived) await recordDerivedPassword(action.userId, ctx, scope);
}

/** `user.set_password`: the derived password through the admin API (sessions kept), then the marker. */
export async function setPassword(action: UserSetPasswordAction, ctx: ApplyContext, scope: ActionScope): Promise<void> {
  await putUser(ctx.http, ctx.admin, action.userId, { password: derivedPassword(ctx.authSharedSecret, action.userId), logout_devices: false });
  await recordDerivedPassword(action.userId, ctx, scope);
}

async function recordDerivedPassword(userId: string, ctx: ApplyContext, scope: ActionScope): Promise<void> {
  await putAccountData(ctx.http, scope.userToken(userId), userId, PASSWORD_MARKER_KEY, { secret_tag: passwordMarkerTag(ctx.authSharedSecret, userId) });
}

/** `user.set_display_name`: admin API, no user token; Synapse propagates it to the user's rooms. */
export async function setDisplayName(action: UserSetDisplayNameAction, ctx: ApplyContext): Promise<void> {
  await putUser(ctx.http, ctx.admin, action.userId, { displayname: action.displayName });
}

/**
 * `user.set_avatar`: "" removes the avatar (account data untouched, as in matrix-corporal).
 * Otherwise the image is read from its source, uploaded as the user, set through the admin API,
 * and its source recorded as `{ "<mxc>": sha512hex(sourceUri) }` under matrix-corporal's key.
 */
export async function setAvatar(action: UserSetAvatarAction, ctx: ApplyContext, scope: ActionScope): Promise<void> {
  if (action.avatarUri === '') {
    await putUser(ctx.http, ctx.admin, action.userId, { avatar_url: '' });
    return;
  }
  const source = await readAvatarSource(action.avatarUri, { maxBytes: ctx.avatarMaxBytes, timeoutMs: ctx.avatarTimeoutMs, dispatcher: ctx.avatarDispatcher });
  const user = scope.userToken(action.userId);
  const mxc = await uploadMedia(ctx.http, user, source.data, source.contentType, 'avatar');
  await putUser(ctx.http, ctx.admin, action.userId, { avatar_url: mxc });
  await putAccountData(ctx.http, user, action.userId, AVATAR_SOURCE_HASHES_KEY, { [mxc]: avatarUriHash(action.avatarUri) });
}

/**
 * `user.deactivate`: cancel the user's pending delayed events, lock the account, then delete its
 * devices. Locking makes Synapse refuse every token of the user with 401 `M_USER_LOCKED`,
 * admin-minted ones included (those have no device and survive everything but their own logout or
 * expiry). Deleting the devices ends the user's own sessions for good, so unlocking later does not
 * revive them. Delayed events (MSC4140) must be cancelled first, as the user (a locked user's tokens
 * are refused): Synapse sends them even for a locked account. A failed cancellation does not hold
 * up the lock. What fails once the account is locked fails the action with a code that makes the
 * reconciler plan a `user.finish_lock`: {@link DELAYED_EVENTS_NOT_CANCELLED} (whatever else failed
 * too), else {@link DEVICES_NOT_DELETED}.
 */
export async function deactivateUser(action: UserDeactivateAction, ctx: ApplyContext, scope: ActionScope): Promise<void> {
  let notCancelled: unknown = null;
  try {
    await cancelPendingDelayedEvents(ctx.http, scope.userToken(action.userId));
  } catch (err) {
    notCancelled = err;
  }
  await putUser(ctx.http, ctx.admin, action.userId, { locked: true });
  try {
    await deleteAllDevices(ctx, action.userId);
  } catch (err) {
    if (notCancelled === null) throw lockUnfinished(DEVICES_NOT_DELETED, `${action.userId} is locked, but its devices could not be deleted: ${describeError(err)}`, err);
    throw delayedEventsNotCancelled(action.userId, notCancelled, `; its devices could not be deleted either: ${describeError(err)}`);
  }
  if (notCancelled !== null) throw delayedEventsNotCancelled(action.userId, notCancelled);
}

/**
 * How long a `user.finish_lock` keeps the account unlocked to cancel delayed events, besides the
 * call in flight: the user decides how many there are (one call each). What is left waits for the
 * next attempt, which finds only those in the list.
 */
export const FINISH_LOCK_UNLOCKED_BUDGET_MS = 5_000;

/**
 * `user.finish_lock`: finish what a `user.deactivate` left undone after it locked the account.
 * Delete the account's devices while it is still locked (unlocking revives every token of the user
 * that still exists; if they cannot be deleted, the account is not unlocked and the action fails),
 * then unlock it, cancel its pending delayed events as the user (a locked user's tokens are
 * refused; the token is minted after the unlock) for at most {@link FINISH_LOCK_UNLOCKED_BUDGET_MS},
 * and lock it again whatever the cancellation did. The gateway refuses an inactive user's requests
 * meanwhile. The lock is not put back by a handler its run has given up on (`scope.isReleased`: its
 * deadline passed): a newer run may have unlocked a user the policy made active since; the next
 * observation of a user still inactive and unlocked plans a whole `user.deactivate`. Neither is it
 * when the lock fails: the account then stays unlocked, with the same outcome.
 */
export async function finishLock(action: UserFinishLockAction, ctx: ApplyContext, scope: ActionScope): Promise<void> {
  await deleteAllDevices(ctx, action.userId);
  await putUser(ctx.http, ctx.admin, action.userId, { locked: false });
  let notCancelled: unknown = null;
  try {
    await cancelPendingDelayedEvents(ctx.http, scope.userToken(action.userId), FINISH_LOCK_UNLOCKED_BUDGET_MS);
  } catch (err) {
    notCancelled = err;
  }
  if (scope.isReleased?.() === true) return;
  try {
    await putUser(ctx.http, ctx.admin, action.userId, { locked: true });
  } catch (err) {
    if (notCancelled === null) throw err;
    // Both failed: the operator needs the cancellation's cause for the manual step.
    throw lockUnfinished(DELAYED_EVENTS_NOT_CANCELLED, `${action.userId}: its pending delayed events could not be cancelled (${describeError(notCancelled)}), and the account could not be locked again: ${describeError(err)}`, err);
  }
  if (notCancelled !== null) throw notCancelled;
}

async function deleteAllDevices(ctx: ApplyContext, userId: string): Promise<void> {
  const devices = await listDeviceIds(ctx.http, ctx.admin, userId);
  if (devices.length > 0) await deleteDevices(ctx.http, ctx.admin, userId, devices);
}

/** Error code of a `user.deactivate` that locked the account but could not cancel its delayed events. */
export const DELAYED_EVENTS_NOT_CANCELLED = 'CORP_ERR_DELAYED_EVENTS_NOT_CANCELLED';

/** Error code of a `user.deactivate` that locked the account but could not delete its devices (its delayed events were cancelled). */
export const DEVICES_NOT_DELETED = 'CORP_ERR_DEVICES_NOT_DELETED';

function delayedEventsNotCancelled(userId: string, cause: unknown, more = ''): CorporalError {
  return lockUnfinished(DELAYED_EVENTS_NOT_CANCELLED, `${userId} is locked, but its pending delayed events could not be cancelled: ${describeError(cause)}${more}`, cause);
}

function lockUnfinished(code: string, message: string, cause: unknown): CorporalError {
  return new CorporalError(code, message, { source: 'upstream', status: 502, cause });
}

/**
 * `user.activate`: unlock. The profile is not touched: the planner removes matrix-corporal's
 * "[x] " display-name marker with a `user.set_display_name` after this action.
 */
export async function activateUser(action: UserActivateAction, ctx: ApplyContext): Promise<void> {
  await putUser(ctx.http, ctx.admin, action.userId, { locked: false });
}
