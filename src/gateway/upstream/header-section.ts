/**
 * The most bytes Synapse's HTTP server takes in a request's head: Twisted's
 * `HTTPChannel.totalHeadersSize`, over the request line and every header line, each counted
 * without its CRLF. Past it Twisted answers a bare `400`, or, when one line alone is longer than
 * its line limit (also 16,384), closes the connection without any answer, which the proxy could
 * only report as an unreachable homeserver: a 502, and a warning, that any client could cause at
 * will (audit 14, F3). The gateway refuses such a request itself (431 `M_TOO_LARGE`).
 */
export const UPSTREAM_HEAD_LIMIT_BYTES = 16_384;

/** `connection: keep-alive`, the line undici adds to a request it writes to a pool. */
const CONNECTION_LINE = 'connection: keep-alive'.length;
/** `connection: close`, its line instead for a `HEAD` (undici closes the connection after one). */
const CONNECTION_CLOSE_LINE = 'connection: close'.length;
/** `transfer-encoding: chunked`, added by undici to a body of unknown length. */
const CHUNKED_LINE = 'transfer-encoding: chunked'.length;
/** `host: `, before the upstream host undici writes when the headers have none. */
const HOST_NAME_AND_SEPARATOR = 'host: '.length;
/** `content-length: 0`, added by undici to a request without a body whose method expects one. */
const EMPTY_LENGTH_LINE = 'content-length: 0'.length;
/** The methods undici sends `content-length: 0` for when they have no body (`expectsPayload`, client-h1.js). */
const PAYLOAD_METHODS: ReadonlySet<string> = new Set(['PUT', 'POST', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);

/**
 * Whether the head undici will write for this request — `<method> <path> HTTP/1.1`, the
 * `headers` (flat `[name, value, …]`, written as `name: value`), `host: <upstreamHost>` (the
 * upstream target's `host`, precomputed) when `headers` have no `host`, and undici's own lines: its `connection`
 * line (`close` for a `HEAD`), and the `content-length: 0` it adds to a bodiless `POST`, `PUT` or
 * `PATCH` (no `content-length` in `headers`, not `chunked`) — is longer than
 * {@link UPSTREAM_HEAD_LIMIT_BYTES}, counted as Twisted counts it. Each character counts as one
 * byte: undici writes the head as Latin-1 (whatever bytes the client sent: uWS hands header values
 * over decoded as UTF-8).
 */
export function exceedsUpstreamHeadLimit(method: string, path: string, headers: readonly string[], upstreamHost: string, chunked: boolean): boolean {
  let size = method.length + 1 + path.length + ' HTTP/1.1'.length + (chunked ? CHUNKED_LINE : 0);
  size += method === 'HEAD' ? CONNECTION_CLOSE_LINE : CONNECTION_LINE;
  let hasHost = false;
  let hasLength = false;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    if (name === 'host') hasHost = true;
    else if (name === 'content-length') hasLength = true;
    size += name.length + 2 + headers[i + 1]!.length;
  }
  if (!chunked && !hasLength && PAYLOAD_METHODS.has(method)) size += EMPTY_LENGTH_LINE;
  if (!hasHost) size += HOST_NAME_AND_SEPARATOR + upstreamHost.length;
  return size > UPSTREAM_HEAD_LIMIT_BYTES;
}
