/** A parsed `host:port` listen address. */
export interface ListenAddress {
  /**
   * The address or host name to bind, or null for `:port`: every interface, IPv6 and IPv4 where
   * the host has IPv6, IPv4 alone where it has not (Go's `net.Listen` on `:port`, which
   * matrix-corporal used; `0.0.0.0` would leave IPv6 clients out).
   */
  host: string | null;
  port: number;
}

/**
 * Parses `host:port`, `[v6]:port` or `:port` (every interface) as matrix-corporal accepts them.
 * Returns null when the text is not a valid address (the config validator reports it).
 */
export function parseListenAddress(text: string): ListenAddress | null {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (!match) return null;
  const port = Number(match[3]);
  if (!Number.isInteger(port) || port > 65535) return null;
  const host = match[1] ?? (match[2] === '' || match[2] === undefined ? null : match[2]);
  return { host, port };
}
