import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BodyLimitExceededError, discardBody, readBoundedBody } from './bounded-body.js';

/*
 * Bodies from the services Corporal calls as matrix-corporal's Go HTTP client called them: that
 * client asked for gzip by itself (`Accept-Encoding: gzip`) and decompressed a gzip answer
 * transparently, so a policy server, hook service, REST auth service or avatar host may compress
 * whenever it is asked, or always (an object stored compressed).
 */

/** The `Accept-Encoding` value to send to those services (what Go's client sent). */
export const ACCEPT_GZIP = 'gzip';

/** Thrown by {@link readBoundedDecodedBody} for a `Content-Encoding` other than gzip or none. */
export class UnsupportedEncodingError extends Error {
  constructor(readonly encoding: string) {
    super(`the answer came with Content-Encoding ${JSON.stringify(encoding)}; only gzip (or none) is supported`);
    this.name = 'UnsupportedEncodingError';
  }
}

/**
 * The whole body, decompressed when `headers` say `Content-Encoding: gzip` (or `x-gzip`), as it is
 * when they name no encoding (or `identity`); any other encoding is refused
 * ({@link UnsupportedEncodingError}) rather than read as garbage.
 *
 * Both the bytes received and the decoded bytes are bounded by `maxBytes`
 * ({@link BodyLimitExceededError}): a small compressed body must not become gigabytes, and a
 * stream of empty gzip members must not be read forever. Corrupt gzip data rejects with zlib's
 * error (see {@link isDecodingError}).
 */
export async function readBoundedDecodedBody(
  body: Readable,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  maxBytes: number,
): Promise<Buffer> {
  const encoding = contentEncoding(headers['content-encoding']);
  if (encoding === 'identity') return readBoundedBody(body, maxBytes, headers['content-length']);
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    discardBody(body);
    throw new UnsupportedEncodingError(encoding);
  }
  if (headers['content-length'] === '0') {
    // Go's gzip reader gives an empty body here; zlib would call it a truncated stream.
    discardBody(body);
    return Buffer.alloc(0);
  }
  let received = 0;
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > maxBytes) body.destroy(new BodyLimitExceededError(maxBytes));
  });
  return readBoundedBody(pipeline(body, createGunzip(), () => undefined), maxBytes);
}

/** {@link readBoundedDecodedBody} as UTF-8 text (invalid sequences become U+FFFD, as Go reads them). */
export async function readBoundedDecodedText(
  body: Readable,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  maxBytes: number,
): Promise<string> {
  return (await readBoundedDecodedBody(body, headers, maxBytes)).toString('utf8');
}

/** True for the errors {@link readBoundedDecodedBody} gives for an undecodable body (not transport errors). */
export function isDecodingError(err: unknown): boolean {
  if (err instanceof UnsupportedEncodingError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/** The single coding named by a `Content-Encoding` header, lower-cased; `identity` when absent. */
function contentEncoding(header: string | string[] | undefined): string {
  const value = (Array.isArray(header) ? header.join(',') : header ?? '').trim().toLowerCase();
  return value === '' ? 'identity' : value;
}
