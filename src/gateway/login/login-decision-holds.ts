import { createHash } from 'node:crypto';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import { findManagedUser } from '../identity/managed-user.js';

/**
 * For a login of managed user `userId` decided on `decidedOn` (its password checked against the
 * policy's credential): whether that decision holds under a newer snapshot — the user is still
 * managed, active, with the same auth type and credential. Anything else in the policy (other
 * users, rooms, display names) cannot change it, so a policy push that lands between the check
 * and the dispatch no longer fails the login with 503 (soak review 18, S3); a changed credential
 * still does, as a password the newest policy replaced must not log in.
 */
export function loginDecisionHolds(decidedOn: PolicySnapshot, userId: string): (newest: PolicySnapshot) => boolean {
  const before = findManagedUser(decidedOn, userId);
  return (newest) => {
    const now = findManagedUser(newest, userId);
    if (before === undefined || now === undefined) return false;
    return now.id === before.id && now.active === before.active && now.authType === before.authType && now.authCredential === before.authCredential;
  };
}

/**
 * For a login forwarded as sent (`proxy`: an unmanaged or passthrough user, a token or 3PID login)
 * and decided on `decidedOn`: whether that decision holds under a newer snapshot. Such a login's
 * user is not known (a token or 3PID login) or may become managed, so it holds when no user's login
 * entry (id, active, auth type, credential) changed at all — the usual push, which changes display
 * names, rooms or flags, leaves every login in flight alone (verification 18, V1).
 */
export function forwardedLoginHolds(decidedOn: PolicySnapshot): (newest: PolicySnapshot) => boolean {
  return (newest) => loginEntriesDigest(newest) === loginEntriesDigest(decidedOn);
}

/** Per snapshot, computed once when first asked (a race of a push and a login is rare). */
const DIGESTS = new WeakMap<PolicySnapshot, string>();

/** A digest of every user's login entry, in id order. */
function loginEntriesDigest(snapshot: PolicySnapshot): string {
  let digest = DIGESTS.get(snapshot);
  if (digest === undefined) {
    const hash = createHash('sha256');
    for (const id of [...snapshot.users.keys()].sort()) {
      const user = snapshot.users.get(id)!;
      hash.update(JSON.stringify([user.id, user.active, user.authType, user.authCredential]));
    }
    digest = hash.digest('base64');
    DIGESTS.set(snapshot, digest);
  }
  return digest;
}
