import { CorporalError } from '../../common/errors.js';
import type { Credentials } from './credentials.js';
import type { ClientGoneHook, IdentityCache } from './identity-cache.js';
import { ANONYMOUS, type Identity } from './identity.js';

/**
 * The identity of a request when it is known without waiting — no credentials, credentials
 * Synapse rejects outright, or a cache hit — else null (a look-up is needed: {@link lookUpIdentity}).
 * Kept synchronous so that the common cached request never touches a promise.
 */
export function knownIdentity(cache: IdentityCache, credentials: Credentials): Identity | null {
  switch (credentials.kind) {
    case 'none':
      return ANONYMOUS;
    case 'invalid':
      return { kind: 'invalid-credentials', message: credentials.message };
    case 'token':
      return cache.peek(credentials.token, credentials.masqueradeAs) ?? null;
  }
}

/**
 * Looks the token up (single-flight, cached); never rejects: a failed look-up is `unresolved`.
 * `gone` reports the client leaving (see {@link IdentityCache.resolve}).
 */
export async function lookUpIdentity(cache: IdentityCache, token: string, masqueradeAs: Uint8Array | null, gone?: ClientGoneHook, client: string | null = null): Promise<Identity> {
  try {
    return await cache.resolve(token, masqueradeAs, gone, client);
  } catch (err) {
    const error = err instanceof CorporalError
      ? err
      : new CorporalError('CORP_ERR_IDENTITY_LOOKUP', 'identity look-up failed', { source: 'internal', cause: err });
    return { kind: 'unresolved', error };
  }
}

/** Tokens to drop from every thread's cache after a successful logout or revocation; null when nothing to drop. */
export interface LogoutEviction {
  tokens: string[];
  /** After `/logout/all`: every token of this user (null when the user was not known). */
  userId: string | null;
}

/**
 * Routes whose 2xx answer can end other sessions of the requester: a password change (Synapse logs
 * out the user's other devices unless `logout_devices: false`), device deletion and deactivation
 * (every session; allowed to unmanaged users). Which tokens
 * died is not in the answer, so every cached token of the user is dropped; live ones (the
 * requester's own, say) cost one look-up each on their next use.
 */
const REVOKING_ROUTES: ReadonlySet<string> = new Set(['logout.all', 'account.password', 'account.deactivate', 'devices.delete', 'devices.delete_many']);

/**
 * What a 2xx upstream answer invalidates in the token caches: after `logout` the request's token;
 * after `logout.all`, a password change, a device deletion or a deactivation also every token of its user (known
 * from the identity resolved for this request; when that failed only the token itself can be
 * dropped, other tokens then expire with their TTL). Without this, hooks would go on treating a
 * token Synapse has revoked as its user until the TTL ran out (Synapse itself refuses it).
 */
export function logoutEviction(routeId: string, status: number, credentials: Credentials, identity: Identity): LogoutEviction | null {
  if (status < 200 || status > 299 || credentials.kind !== 'token') return null;
  if (routeId === 'logout') return { tokens: [credentials.token], userId: null };
  if (REVOKING_ROUTES.has(routeId)) return { tokens: [credentials.token], userId: identity.kind === 'user' ? identity.userId : null };
  return null;
}
