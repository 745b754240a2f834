import type { PolicyFlags, SnapshotUser } from '../../policy/snapshot.js';
import type { ObservedUser } from '../state.js';
import { avatarUriHash, NO_AVATAR_HASH } from './avatar-hash.js';
import { DEACTIVATED_DISPLAY_NAME_MARKER, hasDeactivatedMarker, stripDeactivatedMarkers } from './display-name-marker.js';

/**
 * The display name to set for an active policy user, or `null` to leave it.
 *
 * - New account: the policy name, "" included (Synapse's default, the localpart, is not the
 *   policy's); with `allowCustomUserDisplayNames`, only when it is not "".
 * - `allowCustomUserDisplayNames`: the policy name only when the current (unmarked) name is "" and
 *   the policy's is not; otherwise a name carrying matrix-corporal's "[x] " marker is replaced by
 *   the same name without it, so an active user never shows as deactivated.
 * - Otherwise: the policy name whenever the current name differs from it, "" included. A marked
 *   name always differs from the (unmarked) policy name, so the marker goes too; a policy name
 *   that itself starts with the marker is kept as written (comparing exactly is what converges).
 */
export function plannedDisplayName(flags: PolicyFlags, user: SnapshotUser, current: ObservedUser | null): string | null {
  if (current === null) {
    // Synapse names a new account after its localpart. Without custom names the policy's "" must
    // replace that too, and doing it at creation (before any join) saves a second run whose
    // profile change would reach every room the user has joined by then.
    return user.displayName === '' && flags.allowCustomUserDisplayNames ? null : user.displayName;
  }
  if (!flags.allowCustomUserDisplayNames) return current.displayName === user.displayName ? null : user.displayName;
  const unmarked = stripDeactivatedMarkers(current.displayName);
  if (unmarked === '' && user.displayName !== '') return user.displayName;
  return hasDeactivatedMarker(current.displayName) ? unmarked : null;
}

/**
 * The avatar source URI to set for an active policy user, or `null` to leave it. Avatars are
 * compared by the SHA-512 of the source URI, never by content.
 *
 * - New account: the policy URI when it is not "".
 * - `allowCustomUserAvatars`: the policy URI only when the user has no avatar (hash of "") and the
 *   policy has one.
 * - Otherwise: the policy URI whenever the recorded source hash differs from its hash; "" then
 *   removes the avatar. An avatar with no recorded source (hash "") always differs.
 */
export function plannedAvatarUri(flags: PolicyFlags, user: SnapshotUser, current: ObservedUser | null): string | null {
  if (current === null) return user.avatarUri === '' ? null : user.avatarUri;
  if (flags.allowCustomUserAvatars) {
    return current.avatarSourceUriHash === NO_AVATAR_HASH && user.avatarUri !== '' ? user.avatarUri : null;
  }
  return current.avatarSourceUriHash === avatarUriHash(user.avatarUri) ? null : user.avatarUri;
}

/**
 * The marked display name to set just before deactivating `current` (option
 * `deactivatedDisplayNameMarker`), or `null` when the name already carries the marker.
 */
export function markedDisplayName(current: ObservedUser): string | null {
  return hasDeactivatedMarker(current.displayName) ? null : DEACTIVATED_DISPLAY_NAME_MARKER + current.displayName;
}
