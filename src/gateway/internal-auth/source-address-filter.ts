/**
 * Who may call the internal REST auth endpoint: matrix-corporal's source-address rule (reference §6.8).
 */
import { isIP } from 'node:net';
import { parseCidr, PRIVATE_NETWORK_CIDRS } from '../../common/config/cidr.js';
import { NetworkSet } from '../../common/config/network-set.js';
import type { InternalRestAuthConfig } from '../../common/config/types.js';

/**
 * Loopback and link-local (unicast) networks: always allowed, whatever the allow-list says, as in
 * matrix-corporal (Go's `IsLoopback() || IsLinkLocalUnicast()`).
 */
const ALWAYS_ALLOWED_CIDRS: readonly string[] = Object.freeze(['127.0.0.0/8', '::1/128', '169.254.0.0/16', 'fe80::/10']);

/**
 * Decides on the peer address of a request and whether it came through a reverse proxy (it
 * carries `Forwarded`, `X-Forwarded-For` or `X-Real-IP`): true = may call the endpoint.
 */
export type SourceAddressFilter = (peerAddress: string, forwarded: boolean) => boolean;

/**
 * Builds the filter from `HttpGateway.InternalRESTAuth.IPNetworkWhitelist`: `null` → the private
 * and local ranges ({@link PRIVATE_NETWORK_CIDRS}); `[]` → every address; a list → those networks.
 * Loopback and link-local addresses pass in every case.
 *
 * `peerAddress` must be the TCP peer's address, never a client-supplied header such as
 * `X-Forwarded-For`: the endpoint vouches for passwords, and a header is anyone's to write.
 * Text that is not an IP address is refused. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are
 * matched as the IPv4 address they carry (`net.BlockList` does this in both directions).
 *
 * A forwarded request is refused unless every address is allowed (`[]`): its TCP peer is the
 * reverse proxy (loopback or a private network, allowed by default), so the allow-list would let
 * any Internet client through a proxy that routes this path to the gateway. Synapse's password
 * provider calls the endpoint directly, without those headers.
 *
 * Throws a `CORP_ERR_CONFIG_INVALID` error for an entry that is not a CIDR (the config loader has
 * already refused those; matrix-corporal panicked).
 */
export function createSourceAddressFilter(config: InternalRestAuthConfig): SourceAddressFilter {
  const configured = config.IPNetworkWhitelist ?? PRIVATE_NETWORK_CIDRS;
  const allowAll = configured.length === 0;
  const allowed = new NetworkSet([...ALWAYS_ALLOWED_CIDRS, ...configured], parseCidr, 'HttpGateway.InternalRESTAuth.IPNetworkWhitelist', 'a CIDR');
  return (peerAddress, forwarded) => {
    if (forwarded && !allowAll) return false;
    if (!isIP(peerAddress)) return false;
    return allowAll || allowed.has(peerAddress);
  };
}
