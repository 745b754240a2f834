/**
 * Response-body helpers shared by the pool tasks that call HTTP services (`rest` auth, hook
 * consultations): bounded reads, discarding unread bodies, and transport errors described without
 * request details.
 */
import type { Dispatcher } from 'undici';

/** Thrown by {@link readBoundedText} when a body is larger than allowed (the stream is already destroyed). */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`response body exceeds ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a body of at most `limit` bytes and decodes it as UTF-8 (invalid sequences become U+FFFD);
 * destroys the stream and throws {@link BodyTooLargeError} beyond that. A request signal that fires
 * meanwhile aborts the read (undici destroys the body), so a deadline covers the body too.
 */
export async function readBoundedText(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) {
      discardBody(body);
      throw new BodyTooLargeError(limit);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/**
 * Drops a body we will not read. Destroying an unfinished undici body emits an `error`
 * (`UND_ERR_ABORTED`); nobody waits for it, so it is swallowed here instead of crashing the worker.
 */
export function discardBody(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

/** `ECONNREFUSED`, `UND_ERR_SOCKET`, … or the message: enough to diagnose, never a request detail. */
export function transportErrorText(err: unknown): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : String(err);
}
