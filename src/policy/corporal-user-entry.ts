import type { IssueSink } from './findings.js';
import { childPointer } from './issues.js';

/**
 * Whether a policy user id is `Corporal.UserID`'s entry, ignoring case (login matches policy users
 * ignoring case). Such an entry is left out of the compiled policy (compile.ts) with a warning
 * ({@link checkCorporalUserEntries}): Corporal's own account is a Synapse server admin whose
 * password is derived from the shared secret; the reconciler never manages it, and an entry for it
 * must not make the gateway manage it either. Login would check the entry's credential (a `plain`
 * password, say) and then log in with the derived one, handing the admin account to whoever knows
 * the policy credential (red team 11, F1).
 */
export function isCorporalUserEntry(userId: string, corporalUserId: string): boolean {
  return userId.toLowerCase() === corporalUserId.toLowerCase();
}

/**
 * One warning per element of a (normalised) document's `users` whose string `id`
 * {@link isCorporalUserEntry}; elements of another shape are the type check's to report.
 */
export function checkCorporalUserEntries(users: readonly unknown[], corporalUserId: string, warnings: IssueSink): void {
  users.forEach((user, index) => {
    const id = typeof user === 'object' && user !== null ? (user as { id?: unknown }).id : undefined;
    if (typeof id !== 'string' || !isCorporalUserEntry(id, corporalUserId)) return;
    warnings.push({
      pointer: childPointer('/users', index),
      message: `${id} is Corporal.UserID: Corporal never manages its own account, so this entry is ignored (its credential logs nobody in)`,
    });
  });
}
