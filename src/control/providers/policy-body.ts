import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BodyLimitExceededError, discardBody, readBoundedBody } from '../../common/bounded-body.js';

/** What the `http` provider asks for: gzip, as Go's HTTP client (matrix-corporal's) does by itself. */
export const POLICY_ACCEPT_ENCODING = 'gzip';

/**
 * The policy text of a 200 answer. A `Content-Encoding: gzip` body is decompressed, as Go's client
 * did transparently (a policy server may send gzip whenever it is asked, or always: an object
 * stored compressed); any other encoding but `identity` is refused rather than read as garbage.
 *
 * Both the bytes received and the decompressed text are bounded by `maxBytes`
 * ({@link BodyLimitExceededError}): a small compressed body must not become gigabytes of text, and
 * a stream of empty gzip members must not be read forever. Invalid UTF-8 becomes U+FFFD, as Go
 * reads it. Rejects on corrupt gzip data or a failed transfer.
 */
export async function readPolicyBody(body: Readable, headers: Record<string, string | string[] | undefined>, maxBytes: number): Promise<string> {
  const encoding = contentEncoding(headers['content-encoding']);
  if (encoding === 'identity') return (await readBoundedBody(body, maxBytes, headers['content-length'])).toString('utf8');
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    discardBody(body);
    throw new Error(`the policy came with Content-Encoding ${JSON.stringify(encoding)}; only gzip (or none) is supported`);
  }
  let received = 0;
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > maxBytes) body.destroy(new BodyLimitExceededError(maxBytes));
  });
  const text = pipeline(body, createGunzip(), () => undefined);
  return (await readBoundedBody(text, maxBytes)).toString('utf8');
}

/** The single coding named by a `Content-Encoding` header, lower-cased; `identity` when absent. */
function contentEncoding(header: string | string[] | undefined): string {
  const value = (Array.isArray(header) ? header.join(',') : header ?? '').trim().toLowerCase();
  return value === '' ? 'identity' : value;
}
