/**
 * Reading a buffered upstream response whose body may be compressed (Synapse's listener can be
 * configured with `compress: true`, and the client's `Accept-Encoding` is forwarded).
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/** The `Content-Encoding` value of raw upstream headers (flat `[name, value, …]`), lower-case; null when absent. */
export function contentEncodingOf(rawHeaders: readonly Buffer[]): string | null {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toString('latin1').toLowerCase() === 'content-encoding') return rawHeaders[i + 1]!.toString('latin1').trim().toLowerCase();
  }
  return null;
}

/**
 * The body's bytes before `encoding` (`identity`/none, `gzip`, `x-gzip`, `deflate`, `br`), at most
 * `maxBytes` of them; null when the encoding is unknown, the data is corrupt or decodes to more.
 * Only for small bodies (login answers): it decodes synchronously.
 */
export function decodeContent(body: Buffer, encoding: string | null, maxBytes: number): Buffer | null {
  try {
    switch (encoding) {
      case null:
      case '':
      case 'identity':
        return body;
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(body, { maxOutputLength: maxBytes });
      case 'deflate':
        return inflateSync(body, { maxOutputLength: maxBytes });
      case 'br':
        return brotliDecompressSync(body, { maxOutputLength: maxBytes });
      default:
        return null;
    }
  } catch {
    return null;
  }
}
