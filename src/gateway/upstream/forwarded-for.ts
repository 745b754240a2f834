/**
 * Which client address Synapse is told about (`X-Forwarded-For`).
 *
 * Synapse's `x_forwarded` listener records and rate-limits (`rc_login.address`, `rc_registration`)
 * the **first** entry of the header, and anyone can write that entry. matrix-corporal appends the
 * TCP peer to whatever the client sent, so a client reaching it directly, or through a proxy that
 * appends too (nginx's `$proxy_add_x_forwarded_for`), picks the address Synapse sees: a fresh
 * address per attempt escapes every per-address rate limit. The gateway therefore believes the
 * header only as far as proxies it trusts vouch for it: walking the chain from the right (the TCP
 * peer, then each entry a trusted hop appended), the client is the first address that is not a
 * trusted proxy, and the header sent upstream starts with it.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { DEFAULT_TRUSTED_PROXY_CIDRS, parseNetwork } from '../../common/config/cidr.js';
import { NetworkSet } from '../../common/config/network-set.js';

/**
 * Trusted hops examined at most, right to left, before the walk gives up and takes the last one as
 * the client: a header may be as long as uWS allows, and every entry costs a look-up.
 */
const MAX_TRUSTED_HOPS = 16;

/** Entries read at most, empty ones included (a header of commas alone must cost no more than a short one). */
const MAX_ENTRIES_READ = 64;

/** Loopback networks; only IPv6 text is looked up here (IPv4 is told by its first octet). */
const LOOPBACK = new NetworkSet(['127.0.0.0/8', '::1/128'], parseNetwork, 'loopback', 'an IP address or CIDR network');

/** Distinct addresses whose answer is remembered (cleared when full: `BlockList#check` costs ~1.4 µs). */
const CACHE_ENTRIES = 4096;

/**
 * The reverse proxies whose `X-Forwarded-For` the gateway believes (`HttpGateway.TrustedProxies`).
 */
export class TrustedProxies {
  private readonly networks: NetworkSet;
  private readonly answers = new Map<string, boolean>();
  private readonly none: boolean;

  /**
   * `list`: CIDRs or single addresses (validated by the config loader; an invalid entry throws a
   * `CORP_ERR_CONFIG_INVALID` error); null = loopback, private and link-local networks
   * ({@link DEFAULT_TRUSTED_PROXY_CIDRS}); `[]` = none.
   */
  constructor(list: readonly string[] | null) {
    const entries = list ?? DEFAULT_TRUSTED_PROXY_CIDRS;
    this.none = entries.length === 0;
    this.networks = new NetworkSet(entries, parseNetwork, 'HttpGateway.TrustedProxies', 'an IP address or CIDR network');
  }

  /**
   * True when `address` (IP text as {@link normalizeAddress} returns it; IPv4-mapped IPv6 matches
   * as the IPv4 it carries) belongs to a trusted proxy. Text that is no address is never trusted.
   */
  isTrusted(address: string): boolean {
    if (this.none) return false;
    let answer = this.answers.get(address);
    if (answer === undefined) {
      answer = this.networks.has(address);
      if (this.answers.size >= CACHE_ENTRIES) this.answers.clear();
      this.answers.set(address, answer);
    }
    return answer;
  }
}

/**
 * The `X-Forwarded-For` value to send upstream, starting with the client's address.
 *
 * `claimed` is the chain received (all header lines joined with `, `; null when none) and `peer`
 * the TCP peer. When the peer is not a trusted proxy it is the client, and `claimed` is ignored
 * whole. Otherwise the entries are read right to left, each kept, until one is not trusted: that
 * one is the client. An entry that is no IP address stops the walk too, and the hop to its right
 * (trusted, so it sent it) is taken as the client. Empty entries are skipped. When every entry
 * is trusted, the leftmost is the client. The walk reads at most 64 entries and passes at most 16
 * trusted hops; past either bound the last hop passed is taken as the client. Whichever way the
 * walk ends, a loopback address read from the header (IPv4-mapped included) is never the client:
 * the nearest address to its right that is not one is (or the peer).
 */
export function forwardedFor(claimed: string | null, peer: string, trusted: TrustedProxies): string {
  return claimed === null || !trusted.isTrusted(peer) ? peer : chainBehindTrustedPeer(claimed, peer, trusted);
}

/**
 * {@link forwardedFor} for a request's headers as they stand (flat `[name, value, …]`, lower-case
 * names; every `X-Forwarded-For` line counts, joined in order): the value the gateway sends
 * upstream, which is also what hook services are shown.
 */
export function forwardedForOf(headers: readonly string[], peer: string, trusted: TrustedProxies): string {
  let claimed: string | null = null;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i] === 'x-forwarded-for') claimed = claimed === null ? headers[i + 1]! : `${claimed}, ${headers[i + 1]!}`;
  }
  return forwardedFor(claimed, peer, trusted);
}

/** The client's address as Synapse will record it: the first entry of {@link forwardedForOf}. */
export function clientAddressOf(headers: readonly string[], peer: string, trusted: TrustedProxies): string {
  const chain = forwardedForOf(headers, peer, trusted);
  const comma = chain.indexOf(',');
  return comma === -1 ? chain : chain.slice(0, comma);
}

/**
 * {@link forwardedFor} once the peer is known to be a trusted proxy (the header builder has asked
 * already): the walk through `claimed`, right to left.
 */
export function chainBehindTrustedPeer(claimed: string, peer: string, trusted: TrustedProxies): string {
  let chain = peer;
  // `chain` as far as its leftmost address that is not a loopback one read from the header: what
  // is returned. A loopback entry is walked over like any hop (a second proxy on the same host
  // appends one), but never becomes the client: only a proxy on the client's own host can have
  // seen a loopback peer, and 127.0.0.1 is the address Synapse rate-limits Corporal's own logins
  // by (the reconciler's admin session), which a client allowed to choose its address must not
  // be able to choose and exhaust.
  let clientChain = peer;
  let end = claimed.length;
  for (let hops = 0, read = 0; end > 0 && hops < MAX_TRUSTED_HOPS && read < MAX_ENTRIES_READ; read++) {
    const start = claimed.lastIndexOf(',', end - 1) + 1;
    const text = claimed.slice(start, end).trim();
    end = start - 1;
    if (text === '') continue;
    const address = normalizeAddress(text);
    if (address === null) return clientChain;
    chain = `${address}, ${chain}`;
    if (!isLoopback(address)) clientChain = chain;
    if (!trusted.isTrusted(address)) return clientChain;
    hops++;
  }
  return clientChain;
}

/** True for a loopback address as {@link normalizeAddress} returns it. */
function isLoopback(address: string): boolean {
  return address.includes(':') ? LOOPBACK.has(address) : address.startsWith('127.');
}

/**
 * One `X-Forwarded-For` entry as a bare address: IPv4 `a.b.c.d` with an optional `:port`, IPv6
 * bare or as `[v6]` with an optional `:port` (some proxies add ports, RFC 7239 brackets IPv6).
 * Returns null for anything else (`unknown`, host names, obfuscated identifiers, zones).
 */
export function normalizeAddress(text: string): string | null {
  if (isIPv4(text)) return text;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return null;
    const rest = text.slice(close + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return null;
    return bareIPv6(text.slice(1, close));
  }
  const colon = text.indexOf(':');
  if (colon !== -1 && colon === text.lastIndexOf(':')) {
    // One colon: IPv4 with a port (an IPv6 address has at least two).
    const host = text.slice(0, colon);
    return isIPv4(host) && /^\d{1,5}$/.test(text.slice(colon + 1)) ? host : null;
  }
  return bareIPv6(text);
}

function bareIPv6(text: string): string | null {
  return isIPv6(text) && !text.includes('%') ? text : null;
}
