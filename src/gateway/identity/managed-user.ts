import type { PolicySnapshot, SnapshotUser } from '../../policy/snapshot.js';

/**
 * Who a user id typed by a client (a login's identifier, internal REST auth's `id`) names, and
 * whether the policy manages them: one rule for login, UIA and internal REST auth, so that they
 * can never disagree about who is Corporal's.
 */

/**
 * The full MXID Synapse qualifies `user` to: as is when it starts with `@`, else
 * `@<user>:<domain>` (Synapse's `UserID(username, hostname)`, which does not validate the localpart).
 */
export function qualifyUserId(user: string, domain: string): string {
  return user.startsWith('@') ? user : `@${user}:${domain}`;
}

/** `user` qualified ({@link qualifyUserId}), or null when it is not on `domain` (compared ignoring case, as Synapse's user look-ups). */
export function ownUserId(user: string, domain: string): string | null {
  const userId = qualifyUserId(user, domain);
  return userId.toLowerCase().endsWith(`:${domain.toLowerCase()}`) ? userId : null;
}

/**
 * The managed user whose MXID equals `userId` ignoring case, if any. The policy refuses two
 * users that differ only in case, so there is at most one.
 */
export function findManagedUser(snapshot: PolicySnapshot, userId: string): SnapshotUser | undefined {
  const exact = snapshot.userIdsByLowercase.get(userId.toLowerCase());
  return exact === undefined ? undefined : snapshot.users.get(exact);
}
