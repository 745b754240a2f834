import type { Readable } from 'node:stream';

/*
 * Bounded reads of HTTP bodies from services we call (Synapse, REST auth and hook services, avatar
 * sources): a hostile or broken peer must never make us buffer without bound.
 */

/** Thrown by {@link readBoundedBody} when the body exceeds its limit (the stream is destroyed). */
export class BodyLimitExceededError extends Error {
  readonly limit: number;

  constructor(limit: number) {
    super(`body exceeds ${limit} bytes`);
    this.name = 'BodyLimitExceededError';
    this.limit = limit;
  }
}

/**
 * Throws a body away without reading it. Destroying an unfinished undici body emits an `error`
 * (`UND_ERR_ABORTED`); nobody waits for it, so it is swallowed here instead of crashing the thread.
 */
export function discardBody(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

/**
 * Reads a whole response body into memory, refusing anything larger than `maxBytes` as soon as
 * the declared `Content-Length` or the bytes received so far say so: the stream is destroyed and
 * {@link BodyLimitExceededError} thrown, so a hostile or broken peer cannot make us buffer without
 * bound.
 */
export async function readBoundedBody(body: Readable, maxBytes: number, declaredLength?: string | string[]): Promise<Buffer> {
  const declared = typeof declaredLength === 'string' ? Number(declaredLength) : NaN;
  if (Number.isFinite(declared) && declared > maxBytes) {
    discardBody(body);
    throw new BodyLimitExceededError(maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBytes) {
      discardBody(body);
      throw new BodyLimitExceededError(maxBytes);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, size);
}
