import { isIP } from 'node:net';

/** `host[:port]`: a bracketed literal or a run of DNS characters, then an optional port. */
const SERVER_NAME = /^(?:\[([^\]]*)\]|([A-Za-z0-9.-]{1,255}))(?::(\d{1,5}))?$/;
/** A host that looks like a dotted IPv4 address, whose octets must then be at most 255. */
const IPV4_SHAPE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * True for a Matrix server name (spec "Server name"): a DNS name, an IPv4 address (octets ≤ 255) or
 * a bracketed IPv6 literal, optionally followed by `:port` (≤ 65535). The one check shared by the
 * configuration (`Matrix.HomeserverDomainName`) and the policy (room ids).
 */
export function isServerName(text: string): boolean {
  const match = SERVER_NAME.exec(text);
  if (match === null) return false;
  const [, ipv6, host, port] = match;
  if (ipv6 !== undefined && isIP(ipv6) !== 6) return false;
  if (host !== undefined && IPV4_SHAPE.test(host) && !host.split('.').every((octet) => Number(octet) <= 255)) return false;
  return port === undefined || Number(port) <= 65535;
}
