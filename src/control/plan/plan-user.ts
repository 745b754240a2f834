import type { SnapshotUser } from '../../policy/snapshot.js';
import type { ObservedUser } from '../state.js';
import { derivedPassword } from '../../common/derived-password.js';
import { warn, type PlanContext } from './plan-context.js';
import { planMemberships } from './plan-memberships.js';
import { markedDisplayName, plannedAvatarUri, plannedDisplayName } from './plan-profile.js';

/**
 * Appends one policy user's actions: activation changes, then the password migration, then the
 * profile, then memberships (power levels are only collected, see `planMemberships`).
 * `current` is the account on the homeserver, or `null` when it does not exist.
 */
export function planUser(ctx: PlanContext, user: SnapshotUser, current: ObservedUser | null): void {
  if (current === null) {
    // An inactive user is not created: there is nothing to lock.
    if (user.active) planActiveUser(ctx, user, null);
    return;
  }
  if (current.deactivated) {
    // Synapse deactivation erases the account (password, 3PIDs, rooms); bringing it back is not
    // Corporal's call. An inactive policy user is already as blocked as can be.
    if (user.active) {
      warn(ctx, 'plan.account_erased', user.id, null, `${user.id} is active in the policy, but the account is deactivated on the homeserver; Corporal cannot reactivate it`);
    }
    return;
  }
  if (user.active) planActiveUser(ctx, user, current);
  else planInactiveUser(ctx, user, current);
}

function planActiveUser(ctx: PlanContext, user: SnapshotUser, current: ObservedUser | null): void {
  const isPassthrough = user.authType === 'passthrough';
  if (current === null) {
    ctx.actions.push({
      type: 'user.create',
      userId: user.id,
      password: isPassthrough ? user.authCredential : derivedPassword(ctx.options.authSharedSecret, user.id),
      passwordIsDerived: !isPassthrough,
    });
  } else {
    if (current.locked) ctx.actions.push({ type: 'user.activate', userId: user.id });
    if (current.accountDataError !== undefined) {
      // What the account data records (the password marker, the avatar's source) is unknown: guessing
      // would reset the password (logging the user out) or re-upload the avatar on every pass.
      warn(ctx, 'plan.account_data_unreadable', user.id, null,
        `the account data of ${user.id} could not be read (${current.accountDataError}); its password and avatar are left as they are`);
    } else if (!isPassthrough && !current.derivedPasswordSet) {
      // Accounts created by matrix-corporal have a random password; give them the derived one once so
      // that logins work on stock Synapse. Passthrough users own their password.
      ctx.actions.push({ type: 'user.set_password', userId: user.id });
    }
  }
  const displayName = plannedDisplayName(ctx.policy.flags, user, current);
  if (displayName !== null) ctx.actions.push({ type: 'user.set_display_name', userId: user.id, displayName });
  const avatarUri = current?.accountDataError === undefined ? plannedAvatarUri(ctx.policy.flags, user, current) : null;
  if (avatarUri !== null) ctx.actions.push({ type: 'user.set_avatar', userId: user.id, avatarUri });
  planMemberships(ctx, user, { isActive: true, viaKick: false });
}

/**
 * An inactive user leaves the managed rooms the policy does not list, then (when not yet locked)
 * gets the marked display name if configured, then is locked. A locked account's tokens are
 * refused, so its leaves become kicks, and the name is set while the account can still act.
 * A locked user whose lock by Corporal left work undone (delayed events, which would be sent
 * however long the user stays locked; devices) first gets a `user.finish_lock`.
 * The profile of an inactive user is otherwise left alone.
 */
function planInactiveUser(ctx: PlanContext, user: SnapshotUser, current: ObservedUser): void {
  if (current.locked && ctx.options.locksUnfinished?.has(user.id) === true) {
    ctx.actions.push({ type: 'user.finish_lock', userId: user.id });
  }
  planMemberships(ctx, user, { isActive: false, viaKick: current.locked });
  if (current.locked) return;
  if (ctx.options.deactivatedDisplayNameMarker) {
    const displayName = markedDisplayName(current);
    if (displayName !== null) ctx.actions.push({ type: 'user.set_display_name', userId: user.id, displayName });
  }
  ctx.actions.push({ type: 'user.deactivate', userId: user.id });
}
