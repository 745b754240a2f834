import { createHash } from 'node:crypto';

/**
 * matrix-corporal's `UriHash`: the lower-case hex SHA-512 of an avatar source URI string (the image
 * content is never hashed, so a changed image behind the same URL goes unnoticed). Recorded in
 * account data `com.devture.matrix.corporal.avatar_source_uri_hashes` and compared by the planner.
 */
export function avatarUriHash(avatarUri: string): string {
  return createHash('sha512').update(avatarUri, 'utf8').digest('hex');
}

/** `avatarUriHash("")`: the observed source hash of a user who has no avatar. */
export const NO_AVATAR_HASH: string = avatarUriHash('');
