import { createHmac } from 'node:crypto';

/**
 * Account-data type of Corporal's marker that the account's Synapse password is the derived
 * password for the current `AuthSharedSecret`. The password itself is never stored.
 */
export const PASSWORD_MARKER_KEY = 'io.corporal.password';

/** Content of the marker: `{ "secret_tag": <see passwordMarkerTag> }`. */
export interface PasswordMarker {
  secret_tag: string;
}

/**
 * The tag recorded in `userId`'s marker: 8 hex characters of HMAC-SHA256 keyed with the secret over
 * a fixed label and the exact user id. It changes when `AuthSharedSecret` changes, which is all the
 * marker must tell. Why keyed, per user and so short: users can write their own account data (the
 * gateway refuses writes of Corporal's types, but the client API may be reachable around it, so
 * this stays as defence in depth), so a tag shared by every account could be copied from any managed account into another one before it
 * is managed, and the reconciler would then never replace that account's own Synapse password; and
 * users can read the tag, so it is an offline oracle for guessing a weak secret: 32 bits leave a
 * brute-force search over any large candidate space with millions of false matches, while a real
 * secret change goes unnoticed only with odds of 1 in 4 billion.
 */
export function passwordMarkerTag(authSharedSecret: string, userId: string): string {
  return createHmac('sha256', authSharedSecret).update(`io.corporal.password-marker.v2\n${userId}`, 'utf8').digest('hex').slice(0, 8);
}

/** True when `content` (`userId`'s account data under {@link PASSWORD_MARKER_KEY}) records the current secret for that user. */
export function isCurrentPasswordMarker(content: unknown, authSharedSecret: string, userId: string): boolean {
  if (typeof content !== 'object' || content === null) return false;
  return (content as { secret_tag?: unknown }).secret_tag === passwordMarkerTag(authSharedSecret, userId);
}

/**
 * matrix-corporal's account-data type that records where the current avatar came from:
 * `{ "<mxc URI>": avatarUriHash(sourceUri) }` (`control/plan/avatar-hash.ts`), holding only the
 * current avatar. Kept as is so that
 * deployments migrate without re-uploading every avatar.
 */
export const AVATAR_SOURCE_HASHES_KEY = 'com.devture.matrix.corporal.avatar_source_uri_hashes';

