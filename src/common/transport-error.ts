/*
 * Describing why an outbound HTTP call failed (undici and Node errors carry a `code`), the same
 * way in every log line: the code and the message, never a request detail (no URL, header or body).
 */

/** The error's string `code` (`ECONNREFUSED`, `UND_ERR_SOCKET`, …), or undefined. */
export function errorCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** `code: message`, or the message alone when there is no code. */
export function describeTransportError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = errorCode(err);
  return code === undefined ? message : `${code}: ${message}`;
}

const UNDICI_TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** Whether undici gave up waiting (connect, headers or body timeout). */
export function isUndiciTimeout(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && UNDICI_TIMEOUT_CODES.has(code);
}
