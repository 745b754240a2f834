/**
 * The key under which a client's password checks are counted (red team 6, F1): its address, or for
 * IPv6 the /64 network it belongs to. A single IPv6 host usually holds a whole /64 and can write
 * each request from a new address in it, so counting per address would count nothing.
 */
import { isIPv4, isIPv6 } from 'node:net';

/**
 * `address` (IP text as `forwarded-for.ts` yields it) as a counting key: IPv4 unchanged, IPv6 as
 * its /64 network (`2001:db8:0:1::/64`, every spelling of an address in it giving the same key;
 * an IPv4-mapped address gives the IPv4 it carries). Text that is no address is returned as it is.
 */
export function clientAddressKey(address: string): string {
  if (isIPv4(address) || !isIPv6(address)) return address;
  const groups = ipv6Groups(address);
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 text (a dotted IPv4 tail converted, `::` expanded). */
function ipv6Groups(text: string): number[] {
  let hex = text;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const [a = 0, b = 0, c = 0, d = 0] = text.slice(lastColon + 1).split('.').map(Number);
    hex = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const gap = hex.indexOf('::');
  if (gap === -1) return parse(hex);
  const head = parse(hex.slice(0, gap));
  const rest = parse(hex.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}
