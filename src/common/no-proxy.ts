/**
 * Which request URLs go around the proxy: `NO_PROXY` read and applied as Go's default transport
 * applied it, for the outbound client (`outbound-agent.ts`).
 *
 * Followed line by line: `golang.org/x/net/http/httpproxy/proxy.go` (`config.init`, `useProxy`,
 * `canonicalAddr`, `ipMatch`, `cidrMatch`, `domainMatch`), the code behind Go's
 * `http.ProxyFromEnvironment`:
 * - the list is split on `,` and each entry trimmed and lower-cased (Corporal splits on white space
 *   as well, as it always has: such an entry matched nothing in Go);
 * - `*` as an entry: no URL is proxied;
 * - a CIDR (`10.0.0.0/8`, `fd00::/8`) covers the request hosts that are IP addresses in it (no DNS
 *   lookup);
 * - an IP address (`10.1.2.3`, `::1`), or one with a port (`10.1.2.3:8080`, `[::1]:8080`), covers
 *   that address (on that port); a bracketed IPv6 address without a port (`[::1]`) is read by Go as
 *   a name and covers nothing;
 * - any other entry is a domain, optionally with `:port`: `foo.com` covers `foo.com` and its
 *   subdomains, `.foo.com` and `*.foo.com` its subdomains only; never an IP host (Go 1.26);
 * - a port in an entry must equal the request's, the scheme's default (80, 443) when the URL has
 *   none;
 * - `localhost` and loopback addresses (`127.0.0.0/8`, `::1`) are never proxied, whatever the list.
 * Two differences remain, both from the URL parser: `LOCALHOST` is `localhost` (Go compared it as
 * written and proxied it), and hosts WHATWG reads as IPv4 (`10.1`, `0x0a.1.2.3`) are addresses
 * here, names in Go.
 */
import { domainToASCII } from 'node:url';
import { goIpEqual, goIpIsLoopback, goNetworkContains, parseGoIp, parseGoNetwork, type GoIp, type GoNetwork } from './go-ip.js';

/** One parsed `NO_PROXY` list: Go's `ipMatchers` and `domainMatchers`. */
export interface NoProxy {
  /** `*` was an entry: nothing is proxied. */
  readonly everyHost: boolean;
  /** CIDR entries. */
  readonly networks: readonly GoNetwork[];
  /** IP address entries, `port` '' when the entry has none. */
  readonly addresses: readonly { ip: GoIp; port: string }[];
  /** Domain entries: `suffix` starts with `.`; `exact` also covers the name without that dot. */
  readonly domains: readonly { suffix: string; port: string; exact: boolean }[];
}

/** Default ports of Go's `canonicalAddr`, for a URL without one. */
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** Parses a `NO_PROXY` value (see the module comment). Never throws: an entry Go ignores is ignored. */
export function parseNoProxy(value: string): NoProxy {
  const networks: GoNetwork[] = [];
  const addresses: { ip: GoIp; port: string }[] = [];
  const domains: { suffix: string; port: string; exact: boolean }[] = [];
  for (const raw of value.split(/[,\s]+/)) {
    const entry = raw.toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return { everyHost: true, networks: [], addresses: [], domains: [] };
    const network = parseGoNetwork(entry);
    if (network !== null) {
      networks.push(network);
      continue;
    }
    const split = splitHostPort(entry);
    let host = split?.host ?? entry;
    const port = split?.port ?? '';
    const ip = parseGoIp(host);
    if (ip !== null) {
      addresses.push({ ip, port });
      continue;
    }
    if (host === '') continue;
    if (host.startsWith('*.')) host = host.slice(1);
    const exact = !host.startsWith('.');
    domains.push({ suffix: asciiSuffix(exact ? `.${host}` : host), port, exact });
  }
  return { everyHost: false, networks, addresses, domains };
}

/**
 * True when a request to `url` goes directly rather than through the proxy: Go's `!useProxy`
 * (see the module comment). `url` is the request's origin or full URL.
 */
export function bypassesProxy(noProxy: NoProxy, url: URL): boolean {
  // WHATWG has already lower-cased and IDNA-encoded the name; Go's `Hostname()` drops the brackets.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port !== '' ? url.port : (DEFAULT_PORTS[url.protocol] ?? '');
  if (host === 'localhost') return true;
  const ip = parseGoIp(host);
  if (ip !== null && goIpIsLoopback(ip)) return true;
  if (noProxy.everyHost) return true;
  if (ip !== null) {
    // Current x/net (`domainMatch.match` starts with `if ip != nil { return false }`, Go 1.26):
    // name entries never match an IP host (`2.3` does not cover 10.1.2.3; verification 19, #4).
    return noProxy.networks.some((network) => goNetworkContains(network, ip))
      || noProxy.addresses.some((entry) => goIpEqual(entry.ip, ip) && portMatches(entry.port, port));
  }
  return noProxy.domains.some((entry) => (host.endsWith(entry.suffix) || (entry.exact && host === entry.suffix.slice(1))) && portMatches(entry.port, port));
}

function portMatches(entryPort: string, port: string): boolean {
  return entryPort === '' || entryPort === port;
}

/**
 * Go's `net.SplitHostPort`: `host:port` or `[host]:port` (brackets dropped), null when the text has
 * no port or a misplaced colon or bracket.
 */
function splitHostPort(text: string): { host: string; port: string } | null {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return null;
  let host = text.slice(0, colon);
  // Where Go looks for a stray `[` and a stray `]`.
  let from = { open: 0, close: 0 };
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0 || end + 1 !== colon) return null;
    host = text.slice(1, end);
    from = { open: 1, close: end + 1 };
  } else if (host.includes(':')) {
    return null;
  }
  if (text.includes('[', from.open) || text.includes(']', from.close)) return null;
  return { host, port: text.slice(colon + 1) };
}

/** Go encodes a non-ASCII domain entry with IDNA, as the request's host is; a failure keeps it. */
function asciiSuffix(suffix: string): string {
  if (/^[\x00-\x7f]*$/.test(suffix)) return suffix;
  const ascii = domainToASCII(suffix.slice(1));
  return ascii === '' ? suffix : `.${ascii}`;
}
