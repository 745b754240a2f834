import { isIPv4, isIPv6 } from 'node:net';

/** A parsed CIDR network, in the form `net.BlockList#addSubnet(address, prefix, family)` takes. */
export interface CidrNetwork {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * The networks allowed to call the internal REST auth endpoint when
 * `HttpGateway.InternalRESTAuth.IPNetworkWhitelist` is null: matrix-corporal's private and local
 * ranges.
 */
export const PRIVATE_NETWORK_CIDRS: readonly string[] = Object.freeze([
  '127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16',
  '::1/128', 'fe80::/10', 'fc00::/7',
]);

/**
 * Parses `address/prefix` as Go's `net.ParseCIDR` does: an IPv4 (dotted decimal, no leading zeros)
 * or IPv6 address without zone, and a decimal prefix length within the family's bit length. Host
 * bits may be set (`10.1.2.3/8` means `10.0.0.0/8`). Returns null when the text is not a CIDR.
 */
export function parseCidr(text: string): CidrNetwork | null {
  const slash = text.indexOf('/');
  if (slash === -1) return null;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  // Node's isIPv6 accepts a `%zone` suffix; Go's ParseCIDR refuses it.
  if (isIPv4(address)) return prefix <= 32 ? { address, prefix, family: 'ipv4' } : null;
  if (isIPv6(address) && !address.includes('%')) return prefix <= 128 ? { address, prefix, family: 'ipv6' } : null;
  return null;
}

/**
 * `HttpGateway.TrustedProxies` when null: the same private and local ranges as the REST-auth
 * default (nginx or Traefik on the host or in a container network), named apart so that tightening
 * one default never silently changes the other.
 */
export const DEFAULT_TRUSTED_PROXY_CIDRS: readonly string[] = PRIVATE_NETWORK_CIDRS;

/**
 * A network written as a CIDR ({@link parseCidr}) or as one address (`10.0.0.5`, `::1`: the whole
 * prefix), as nginx's `set_real_ip_from` takes them. Returns null when the text is neither.
 */
export function parseNetwork(text: string): CidrNetwork | null {
  if (text.includes('/')) return parseCidr(text);
  if (isIPv4(text)) return { address: text, prefix: 32, family: 'ipv4' };
  if (isIPv6(text) && !text.includes('%')) return { address: text, prefix: 128, family: 'ipv6' };
  return null;
}
