import { chainBehindTrustedPeer, type TrustedProxies } from './forwarded-for.js';
import { connectionTokens, isHopByHop } from './hop-by-hop.js';

/**
 * The headers sent upstream for a client request, as undici's flat `[name, value, …]` list.
 *
 * `received` are the client's headers as uWS delivers them (lower-case names, in order, one
 * entry per header line). Copied once, in one pass:
 * - hop-by-hop headers and those named in `Connection` are dropped (protected ones excepted, see
 *   hop-by-hop.ts); so is `Expect` (uWS already answered `100 Continue`) and the client's
 *   `Content-Length` (the body sent may differ: `contentLength` is what is actually sent, null for
 *   no body or a chunked one);
 * - `Host` stays the client's (as in matrix-corporal), first occurrence only;
 * - `X-Forwarded-For`: the chain from the client's address to the TCP peer `peerAddress`, as far
 *   as `trusted` proxies vouch for it (forwarded-for.ts; matrix-corporal appended the peer to
 *   whatever the client sent);
 * - `X-Forwarded-Proto` and `X-Forwarded-Host` are kept when present (the TLS-terminating proxy in
 *   front knows the real scheme and host; the gateway itself only speaks plain HTTP), from any
 *   peer: Synapse applies them to that one request only (`isSecure`), and replacing them from a
 *   TLS-terminating load balancer not listed as trusted would send SSO redirects into a loop.
 *   An absent `X-Forwarded-Proto` stays absent, as with matrix-corporal: Synapse (`x_forwarded`)
 *   then assumes https, and saying `http` instead loops its SSO redirect whenever the proxy in
 *   front names no scheme (parity review 25, finding 1). An absent `X-Forwarded-Host` is set to
 *   the client's `Host` (Synapse does not read it).
 * - `Forwarded` and `X-Real-IP`, the standard and the most common other way of naming a client
 *   address, pass only from a trusted peer (and unless `Connection` names them). Synapse reads neither, but a module, a proxy behind the gateway or a log reader
 *   might, and from anyone else they are whatever the client chose (matrix-corporal passed them).
 */
export function buildUpstreamRequestHeaders(
  received: readonly string[],
  peerAddress: string,
  trusted: TrustedProxies,
  contentLength: string | null,
): string[] {
  const dropped = droppedByConnection(received);
  const peerTrusted = trusted.isTrusted(peerAddress);
  const out: string[] = [];
  let host: string | null = null;
  let claimedFor: string | null = null;
  let hasForwardedProto = false; // only the first one is passed on
  let hasForwardedHost = false;
  for (let i = 0; i + 1 < received.length; i += 2) {
    const name = received[i]!;
    const value = received[i + 1]!;
    switch (name) {
      case 'host':
        if (host !== null) continue;
        host = value;
        break;
      case 'content-length':
      case 'expect':
        continue;
      case 'x-forwarded-for':
        if (peerTrusted) claimedFor = claimedFor === null ? value : `${claimedFor}, ${value}`;
        continue;
      case 'forwarded':
      case 'x-real-ip':
        if (!peerTrusted || (dropped !== null && dropped.has(name))) continue;
        break;
      case 'x-forwarded-proto':
        if (hasForwardedProto) continue;
        hasForwardedProto = true;
        break;
      case 'x-forwarded-host':
        if (hasForwardedHost) continue;
        hasForwardedHost = true;
        break;
      default:
        if (isHopByHop(name) || (dropped !== null && dropped.has(name))) continue;
    }
    out.push(name, value);
  }
  // Only a trusted peer's claim was collected (claimedFor stays null otherwise).
  out.push('x-forwarded-for', claimedFor === null ? peerAddress : chainBehindTrustedPeer(claimedFor, peerAddress, trusted));
  if (!hasForwardedHost && host !== null) out.push('x-forwarded-host', host);
  if (contentLength !== null) out.push('content-length', contentLength);
  return out;
}

function droppedByConnection(received: readonly string[]): ReadonlySet<string> | null {
  let values: string[] | null = null;
  for (let i = 0; i + 1 < received.length; i += 2) {
    if (received[i] !== 'connection') continue;
    const value = received[i + 1]!;
    // The usual values name no header: skip the parsing (almost every request has one).
    if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') continue;
    (values ??= []).push(value);
  }
  return values === null ? null : connectionTokens(values, true);
}
