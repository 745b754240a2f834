import { createHmac } from 'node:crypto';

/**
 * The MAC of Synapse's shared-secret registration (`POST /_synapse/admin/v1/register`, synapse.md
 * §1.3): lower-case hex HMAC-SHA1 keyed with `registration_shared_secret` over
 * `nonce \0 username \0 password \0 ("admin" | "notadmin") [\0 user_type]`, the username exactly
 * as sent.
 */
export function registrationMac(secret: string, nonce: string, username: string, password: string, admin: boolean, userType?: string): string {
  const parts = [nonce, username, password, admin ? 'admin' : 'notadmin', ...(userType === undefined ? [] : [userType])];
  return createHmac('sha1', secret).update(parts.join('\x00')).digest('hex');
}

/**
 * The password devture's shared-secret-auth module accepts for `userId` (synapse.md §3.3):
 * lower-case hex HMAC-SHA512 keyed with the module's `shared_secret` over the full user ID, not
 * lower-cased. Written independently of Corporal's own derivation so tests can check it.
 */
export function sharedSecretAuthPassword(sharedSecret: string, userId: string): string {
  return createHmac('sha512', sharedSecret).update(userId).digest('hex');
}
