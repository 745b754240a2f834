import { CorporalError } from '../common/errors.js';
import { ErrCode } from '../common/matrix-errors.js';
import type { BodyConsumer, RequestBody } from './request-body.js';
import { gatewayBusy, UNBOUNDED_RESERVATION, type BufferReservation } from './buffer-budget.js';

/** First allocation for a body of unknown length (chunked); grows by doubling up to the limit. */
const INITIAL_CHUNKED_BYTES = 16 * 1024;

/** Error code of a body over the limit (answered 413 `M_TOO_LARGE`). */
export const BODY_TOO_LARGE = 'CORP_ERR_BODY_TOO_LARGE';
/** Error code when the client left while its body was being read. */
export const CLIENT_ABORTED = 'CORP_ERR_CLIENT_ABORTED';

/**
 * Reads a whole request body into one buffer, for the phases that must look at it (policy checks,
 * hooks, login interception), bounded by `maxBytes` (`HttpGateway.MaxInspectedBodyBytes`).
 *
 * - Rejects with {@link BODY_TOO_LARGE} (413 `M_TOO_LARGE`) at once when `Content-Length`
 *   announces more than `maxBytes`, or as soon as a chunked body exceeds it; reading stops.
 * - Allocates once from `Content-Length` when known; a chunked body grows by doubling, never past
 *   `maxBytes`. Each chunk is copied straight into that buffer (uWS neuters chunks after the callback).
 * - Every allocation (the first, and each growth) is first reserved from `reservation` (the
 *   request's share of its thread's {@link BufferBudget}); when it is refused, rejects with
 *   `GATEWAY_BUSY` (503) and reading stops, as for a body too large.
 * - Rejects with {@link CLIENT_ABORTED} if the client leaves; settles exactly once and writes
 *   nothing after settling.
 *
 * Resolves with exactly the bytes received (a view of the buffer).
 */
export function readBody(body: RequestBody, maxBytes: number, reservation: BufferReservation = UNBOUNDED_RESERVATION): Promise<Buffer> {
  if (body.declaredLength !== null && body.declaredLength > maxBytes) return Promise.reject(tooLarge(maxBytes));
  const initialBytes = body.declaredLength ?? Math.min(INITIAL_CHUNKED_BYTES, maxBytes);
  if (!reservation.reserveBuffer(initialBytes)) {
    body.pause();
    return Promise.reject(gatewayBusy());
  }
  return new Promise((resolve, reject) => {
    body.attach(new BoundedBodyReader(body, maxBytes, initialBytes, reservation, resolve, reject));
  });
}

class BoundedBodyReader implements BodyConsumer {
  private buffer: Buffer;
  private length = 0;
  private settled = false;

  /** `initialBytes` (already reserved) is the first allocation; growth reserves the difference. */
  constructor(
    private readonly body: RequestBody,
    private readonly maxBytes: number,
    initialBytes: number,
    private readonly reservation: BufferReservation,
    private readonly resolve: (body: Buffer) => void,
    private readonly reject: (err: CorporalError) => void,
  ) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  bodyChunk(chunk: Uint8Array): void {
    if (this.settled) return;
    const needed = this.length + chunk.byteLength;
    if (needed > this.maxBytes) {
      this.fail(tooLarge(this.maxBytes));
      this.body.pause();
      return;
    }
    if (needed > this.buffer.length && !this.grow(needed)) {
      this.fail(gatewayBusy());
      this.body.pause();
      return;
    }
    this.buffer.set(chunk, this.length);
    this.length = needed;
  }

  bodyEnd(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(this.buffer.subarray(0, this.length));
  }

  bodyAborted(): void {
    this.fail(new CorporalError(CLIENT_ABORTED, 'the client closed the connection while sending the body', { source: 'client', status: 400 }));
  }

  /** Grows the buffer to hold `needed` bytes; false when the budget refuses the extra bytes. */
  private grow(needed: number): boolean {
    let size = Math.max(this.buffer.length, 1);
    while (size < needed) size *= 2;
    size = Math.min(size, this.maxBytes);
    if (!this.reservation.reserveBuffer(size - this.buffer.length)) return false;
    const next = Buffer.allocUnsafe(size);
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
    return true;
  }

  private fail(err: CorporalError): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }
}

function tooLarge(maxBytes: number): CorporalError {
  return new CorporalError(BODY_TOO_LARGE, `Request body exceeds ${maxBytes} bytes`, {
    source: 'client', status: 413, errcode: ErrCode.TooLarge,
  });
}
