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
