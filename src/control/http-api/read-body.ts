import type { IncomingMessage } from 'node:http';
import { CorporalError } from '../../common/errors.js';
import { ErrCode } from '../../common/matrix-errors.js';

/** `CORP_ERR_API_BODY_TOO_LARGE`: a request body beyond its route's bound (413 `M_TOO_LARGE`). */
export function bodyTooLarge(maxBytes: number): CorporalError {
  return new CorporalError('CORP_ERR_API_BODY_TOO_LARGE', `Request body too large (the limit is ${maxBytes} bytes)`, {
    source: 'client', status: 413, errcode: ErrCode.TooLarge,
  });
}

/**
 * Reads a request body into one buffer, refusing (with {@link bodyTooLarge}) a `Content-Length`
 * above `maxBytes` before reading anything, and a body that grows past it while streaming. The
 * buffer is allocated once when the length is announced.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const announced = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
  if (announced !== null && announced > maxBytes) return Promise.reject(bodyTooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        cleanup();
        req.pause();
        reject(bodyTooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
