import type { Action } from '../actions.js';
import { avatarUriHash } from './avatar-hash.js';

/** What replaces a secret in a redacted action. */
export const REDACTED = '<redacted>';

/** Hex digits of the avatar URI's SHA-512 kept in a redacted `avatarUri`: enough to tell two URIs apart. */
const AVATAR_HASH_DIGITS = 12;

/**
 * The action as it may be logged or printed (dry-run `plan`, `GET /_matrix/corporal/plan`):
 * `user.create`'s password replaced by {@link REDACTED}, and `user.set_avatar`'s `avatarUri` by
 * {@link redactedAvatarUri}. Every other action is returned as is (none carries a secret). The
 * planner and the applier keep using the action itself.
 */
export function redactAction(action: Action): Action {
  if (action.type === 'user.create') return { ...action, password: REDACTED };
  if (action.type === 'user.set_avatar' && action.avatarUri !== '') return { ...action, avatarUri: redactedAvatarUri(action.avatarUri) };
  return action;
}

/**
 * An avatar URI as it may be printed: `<origin>/… sha512:<12 hex>` for an http(s) URL, `data:…
 * sha512:<12 hex>` for a data: URI. An avatar URL's path and query may carry credentials (signed
 * URLs, tokens), and plan output is meant to be mailed around by cron jobs, so only the origin is
 * shown, as in avatar download errors (`URL.origin` also drops any user:password). The hash prefix
 * (of `avatarUriHash`, the value recorded in account data) still tells two URIs apart.
 */
export function redactedAvatarUri(avatarUri: string): string {
  const hash = `sha512:${avatarUriHash(avatarUri).slice(0, AVATAR_HASH_DIGITS)}`;
  if (avatarUri.startsWith('data:')) return `data:… ${hash}`;
  try {
    const url = new URL(avatarUri);
    if (url.protocol === 'http:' || url.protocol === 'https:') return `${url.origin}/… ${hash}`;
  } catch {
    // Not a URL: nothing of it is shown.
  }
  return `… ${hash}`;
}
