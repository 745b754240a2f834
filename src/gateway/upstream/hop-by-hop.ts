/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, so a proxy must not pass
 * them on in either direction. `Proxy-*` covers Proxy-Authorization, Proxy-Authenticate and the
 * non-standard Proxy-Connection. Headers named in `Connection` are hop-by-hop too; see
 * {@link connectionTokens}.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/** True when the (lower-case) header name is hop-by-hop by itself. */
export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName) || lowerName.startsWith('proxy-');
}

/**
 * Request headers a client's `Connection` header cannot get removed. The gateway decides on the
 * request it received (who is asking, which body) and must forward exactly that: were
 * `Connection: Authorization` honoured, the gateway would see a header token while Synapse saw
 * only a query token — a different user. (matrix-corporal, through Go's proxy, has this gap.)
 */
const PROTECTED_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'authorization', 'host', 'content-length', 'content-type', 'content-encoding',
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host',
]);

/**
 * The header names listed in `Connection` values (lower-case), which are hop-by-hop for this
 * message and dropped; null when there are none besides `keep-alive`/`close`. For requests
 * (`isRequest`), names in {@link PROTECTED_REQUEST_HEADERS} are ignored.
 */
export function connectionTokens(values: readonly string[], isRequest: boolean): ReadonlySet<string> | null {
  let tokens: Set<string> | null = null;
  for (const value of values) {
    for (const part of value.split(',')) {
      const token = part.trim().toLowerCase();
      if (token === '' || token === 'close' || token === 'keep-alive') continue;
      if (isRequest && PROTECTED_REQUEST_HEADERS.has(token)) continue;
      (tokens ??= new Set()).add(token);
    }
  }
  return tokens;
}
