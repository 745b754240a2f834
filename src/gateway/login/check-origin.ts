/**
 * Where a password check of a client's request (login, UIA) comes from: the request's abort signal,
 * and the client address its checks are counted against (`password-check-limits.ts`).
 */
import { clientAddressKey } from './client-address-key.js';
import type { RequestContext } from '../request-context.js';
import { clientAddressOf, type TrustedProxies } from '../upstream/forwarded-for.js';

/** The origin of a password check, as `checkPassword` takes it (with the caller's `purpose`). */
export interface PasswordCheckOrigin {
  /** The request's (`RequestContext.signal`): aborted once its client has gone. */
  signal?: AbortSignal | undefined;
  /**
   * The address the check is counted against (`MAX_CHECKS_PER_ADDRESS`), or null for none: the
   * caller is not the client (internal REST auth: Synapse asks), or the address is unknown.
   */
  clientAddress: string | null;
  /**
   * The client at `clientAddress` sent `X-Forwarded-For` itself (it is the TCP peer, and not a
   * trusted proxy): a forger, or a proxy of the operator's that `HttpGateway.TrustedProxies` does
   * not list, in which case every client behind it shares its bound. The refusal warning says so.
   */
  sentForwardedFor?: boolean;
}

/** The origin of `ctx`'s checks: its signal and {@link countedClientAddress}. */
export function checkOriginOf(ctx: RequestContext, trusted: TrustedProxies): PasswordCheckOrigin {
  const clientAddress = countedClientAddress(ctx.headers, ctx.remoteAddress, trusted);
  return { signal: ctx.signal, clientAddress, sentForwardedFor: clientAddress === ctx.remoteAddress && ctx.header('x-forwarded-for') !== null };
}

/**
 * The address a request's checks are counted against: the client's as Synapse will record it
 * (`clientAddressOf`), or null when that address is itself a trusted proxy's. Either a proxy then
 * did not say whose request it passes on (every client would share one bound, and one client's
 * four wrong passwords would refuse everyone's logins), or the client sits on a trusted network
 * and could have claimed any address anyway: counting it would hold back only the innocent.
 */
export function countedClientAddress(headers: readonly string[], peer: string, trusted: TrustedProxies): string | null {
  const address = clientAddressOf(headers, peer, trusted);
  return trusted.isTrusted(address) ? null : address;
}

/**
 * The key a request counts under in the gateway's per-client bounds (token look-ups, the capped
 * pool, the buffer budget): {@link countedClientAddress} as a counting key (an IPv6 /64,
 * `client-address-key.ts`), or null when it is not counted.
 */
export function countedClientKey(headers: readonly string[], peer: string, trusted: TrustedProxies): string | null {
  const address = countedClientAddress(headers, peer, trusted);
  return address === null ? null : clientAddressKey(address);
}
