/**
 * IP addresses compared the way Go's `net.IP` compares them (`Equal`, `IPNet.Contains`,
 * `IsLoopback`), for the `NO_PROXY` rules Go's proxy selection applies (see `no-proxy.ts`).
 *
 * An address is held as Go holds it: 16 bytes (here a 128-bit number), an IPv4 address as its
 * IPv4-mapped IPv6 form `::ffff:a.b.c.d`. Such an address "is IPv4" (Go's `To4() != nil`) whether it
 * was written `10.0.0.1` or `::ffff:10.0.0.1`; `node:net`'s `BlockList` differs in one case (an IPv6
 * network such as `::/0` contains IPv4 addresses there, never in Go), hence this module.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { parseCidr } from './config/cidr.js';

/** An IP address as Go's `net.ParseIP` returns it. */
export interface GoIp {
  /** The 16 bytes, IPv4 in its IPv4-mapped form. */
  readonly value: bigint;
  /** Go's `ip.To4() != nil`: an IPv4 address, or an IPv6 one in `::ffff:0:0/96`. */
  readonly v4: boolean;
}

/** A network as Go's `net.ParseCIDR` returns it: its masked address and the prefix over 128 bits. */
export interface GoNetwork {
  /** The network address (host bits cleared); its `v4` is Go's `n.IP.To4() != nil`. */
  readonly ip: GoIp;
  /** Prefix length over the 16-byte form (an IPv4 `/8` is `/104`). */
  readonly prefix: number;
}

const MAPPED_PREFIX = 0xffffn;

/**
 * Parses an IP address as Go's `net.ParseIP` does: dotted-decimal IPv4 without leading zeros, or
 * IPv6 (an embedded IPv4 tail allowed) without `%zone`. Returns null for anything else.
 */
export function parseGoIp(text: string): GoIp | null {
  if (isIPv4(text)) {
    const value = text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(octet), MAPPED_PREFIX);
    return { value, v4: true };
  }
  if (!isIPv6(text) || text.includes('%')) return null;
  // The WHATWG serialisation is plain hex groups with at most one `::`: read that, not the many forms.
  const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const [head = '', tail] = canonical.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...headGroups, ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const value = groups.reduce((acc, group) => (acc << 16n) | BigInt(`0x${group}`), 0n);
  return { value, v4: value >> 32n === MAPPED_PREFIX };
}

/**
 * Parses `address/prefix` as Go's `net.ParseCIDR` does (host bits may be set and are cleared).
 * An IPv4 network's prefix is counted over the mapped form (`10.0.0.0/8` → `/104`). Returns null
 * when the text is not a CIDR.
 */
export function parseGoNetwork(text: string): GoNetwork | null {
  const cidr = parseCidr(text);
  const ip = cidr === null ? null : parseGoIp(cidr.address);
  if (cidr === null || ip === null) return null;
  const prefix = cidr.family === 'ipv4' ? 96 + cidr.prefix : cidr.prefix;
  const value = (ip.value >> BigInt(128 - prefix)) << BigInt(128 - prefix);
  return { ip: { value, v4: value >> 32n === MAPPED_PREFIX }, prefix };
}

/** Go's `a.Equal(b)`: the same address, an IPv4 one written either way. */
export function goIpEqual(a: GoIp, b: GoIp): boolean {
  return a.value === b.value;
}

/**
 * Go's `network.Contains(ip)`: an IPv4 network holds IPv4 addresses only, an IPv6 one IPv6 addresses
 * only (Go compares 4 bytes or 16, never one with the other).
 */
export function goNetworkContains(network: GoNetwork, ip: GoIp): boolean {
  if (network.ip.v4 !== ip.v4) return false;
  const shift = BigInt(128 - network.prefix);
  return ip.value >> shift === network.ip.value >> shift;
}

/** Go's `ip.IsLoopback()`: any IPv4 address in `127.0.0.0/8` (either form), or `::1`. */
export function goIpIsLoopback(ip: GoIp): boolean {
  return ip.v4 ? ((ip.value >> 24n) & 0xffn) === 127n : ip.value === 1n;
}
