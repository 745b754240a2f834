import { createHmac } from 'node:crypto';

/**
 * The password Corporal gives Synapse for a non-passthrough managed user:
 * `hex(HMAC-SHA512(authSharedSecret, userId))`, lower-case.
 *
 * It is exactly what the shared-secret-auth module accepts for a login, so when the reconciler
 * also sets it as the account's real Synapse password, logins work with or without the module.
 * The result is a secret: never log it.
 */
export function derivedPassword(authSharedSecret: string, userId: string): string {
  return createHmac('sha512', authSharedSecret).update(userId, 'utf8').digest('hex');
}
