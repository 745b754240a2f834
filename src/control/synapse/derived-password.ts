import { createHmac } from 'node:crypto';

/**
 * The password Corporal gives Synapse for a non-passthrough managed user and for its own admin
 * user: `hex(HMAC-SHA512(AuthSharedSecret, mxid))`, exactly what devture's shared-secret-auth module
 * accepts (synapse.md §3.3). Setting it as the account's real password too makes logins work on
 * stock Synapse, with or without the module.
 */
export function derivedPassword(authSharedSecret: string, userId: string): string {
  return createHmac('sha512', authSharedSecret).update(userId, 'utf8').digest('hex');
}
