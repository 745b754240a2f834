import type { IncomingMessage } from 'node:http';
import type { BufferBudget } from '../../common/buffer-budget.js';
import { CorporalError } from '../../common/errors.js';
import { ErrCode } from '../../common/matrix-errors.js';

/** `CORP_ERR_API_BODY_TOO_LARGE`: a request body beyond its route's bound (413 `M_TOO_LARGE`). */
export function bodyTooLarge(maxBytes: number): CorporalError {
  return new CorporalError('CORP_ERR_API_BODY_TOO_LARGE', `Request body too large (the limit is ${maxBytes} bytes)`, {
    source: 'client', status: 413, errcode: ErrCode.TooLarge,
  });
}

/** `CORP_ERR_API_BUSY`: the bodies being held already fill the server's budget (503 `M_UNKNOWN`). */
export function apiBusy(): CorporalError {
  return new CorporalError('CORP_ERR_API_BUSY', 'The HTTP API is receiving too many large request bodies at once; try again shortly', {
    source: 'client', status: 503, errcode: ErrCode.Unknown, retryable: true,
  });
}

/** What {@link readBody} draws its bytes from: the server's budget, for as long as the request lasts. */
export interface BodyReservation {
  readonly budget: BufferBudget;
  /** Bytes this request holds; the caller gives them back once the request is answered. */
  reserved: number;
}

/**
 * Reads a request body into one buffer, refusing (with {@link bodyTooLarge}) a `Content-Length`
 * above `maxBytes` before reading anything, and a body that grows past it while streaming.
 *
 * Every byte is first taken from `reservation.budget` (all of an announced length at once, before
 * reading; a chunked body chunk by chunk): several 256 MiB policy pushes at once would otherwise
 * each hold their body, and its text, in the control process at the same time. When the budget
 * cannot give them, {@link apiBusy}, without reading the rest. Rejects, rather than waiting for
 * ever, when the client goes away before the end.
 */
export function readBody(req: IncomingMessage, maxBytes: number, reservation: BodyReservation): Promise<Buffer> {
  const announced = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
  if (announced !== null && announced > maxBytes) return Promise.reject(bodyTooLarge(maxBytes));
  const take = (bytes: number): boolean => {
    if (!reservation.budget.tryTake(bytes)) return false;
    reservation.reserved += bytes;
    return true;
  };
  if (announced !== null && announced > 0 && !take(announced)) return Promise.reject(apiBusy());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const fail = (err: Error): void => {
      cleanup();
      req.pause();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.byteLength;
      if (total > maxBytes) return fail(bodyTooLarge(maxBytes));
      // An announced length was taken whole; Node's parser never delivers more than it.
      if (announced === null && !take(chunk.byteLength)) return fail(apiBusy());
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    };
    // Node 20 reports a body cut short as an `error` ('aborted'); `close` covers a destroy without
    // one, so that the reservation is always given back.
    const onClose = (): void => fail(new Error('the client went away before the end of the body'));
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', fail);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', fail);
    req.on('close', onClose);
  });
}
