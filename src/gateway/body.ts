import { CorporalError } from '../common/errors.js';
import { ErrCode } from '../common/matrix-errors.js';
import type { BodyConsumer, RequestBody } from './request-body.js';
import { gatewayBusy, type BufferReservation } from './buffer-refusal.js';

/**
 * Largest first allocation: a body grows from here by doubling as its bytes arrive, up to its
 * `Content-Length` (or the limit when chunked). Not the whole announced length at once: a client
 * announcing 1 MiB and sending one byte would otherwise hold 1 MiB of memory and budget for free
 * (a few hundred such connections per thread made every login answer 503).
 */
const FIRST_ALLOCATION_BYTES = 16 * 1024;

/** Error code of a body over the limit (answered 413 `M_TOO_LARGE`). */
export const BODY_TOO_LARGE = 'CORP_ERR_BODY_TOO_LARGE';
/** Error code when the client left while its body was being read. */
export const CLIENT_ABORTED = 'CORP_ERR_CLIENT_ABORTED';
/** Error code of a body that did not arrive in time (answered 408). */
export const BODY_TIMEOUT = 'CORP_ERR_BODY_TIMEOUT';

/** What {@link readBody} needs from the request whose body it reads (the request context). */
export interface BodyReadContext extends BufferReservation {
  /** Milliseconds the whole body may take to arrive, from the start of the read (`Infinity`: no deadline). */
  bodyReadTimeoutMs(): number;
}

/** No budget and no deadline (tests, callers outside the gateway pipeline). */
export const UNLIMITED_BODY_READ: BodyReadContext = { reserveBuffer: () => true, bodyReadTimeoutMs: () => Number.POSITIVE_INFINITY };

/**
 * Reads a whole request body into one buffer, for the phases that must look at it (policy checks,
 * hooks, login interception), bounded by `maxBytes` (`HttpGateway.MaxInspectedBodyBytes`).
 *
 * - Rejects with {@link BODY_TOO_LARGE} (413 `M_TOO_LARGE`) at once when `Content-Length`
 *   announces more than `maxBytes`, or as soon as a chunked body exceeds it; reading stops.
 * - Allocates at most 16 KiB before any byte arrived (exactly the `Content-Length` when smaller)
 *   and grows by doubling as bytes arrive, never past the `Content-Length` (or `maxBytes` when
 *   chunked). Each chunk is copied straight into that buffer (uWS neuters chunks after the callback).
 * - Every allocation (the first, and each growth) is first reserved from `context` (the
 *   request's share of its thread's buffer budget); when it is refused, rejects with
 *   `GATEWAY_BUSY` (503) and reading stops, as for a body too large.
 * - Rejects with {@link BODY_TIMEOUT} (408) when the body is not complete within
 *   `context.bodyReadTimeoutMs()` of the read's start (the exchange cap; the phases before it,
 *   e.g. a slow hook consultation, do not eat into the client's time): a client
 *   trickling a body must not hold its buffer, and its share of the budget, indefinitely.
 * - Rejects with {@link CLIENT_ABORTED} if the client leaves; settles exactly once and writes
 *   nothing after settling.
 *
 * Resolves with exactly the bytes received (a view of the buffer).
 */
export function readBody(body: RequestBody, maxBytes: number, context: BodyReadContext = UNLIMITED_BODY_READ): Promise<Buffer> {
  if (body.declaredLength !== null && body.declaredLength > maxBytes) return Promise.reject(tooLarge(maxBytes));
  // The most this body can need: uWS enforces the Content-Length framing.
  const capacity = body.declaredLength ?? maxBytes;
  const initialBytes = Math.min(FIRST_ALLOCATION_BYTES, capacity);
  if (!context.reserveBuffer(initialBytes)) {
    body.pause();
    return Promise.reject(gatewayBusy());
  }
  return new Promise((resolve, reject) => {
    body.attach(new BoundedBodyReader(body, maxBytes, capacity, initialBytes, context, resolve, reject));
  });
}

class BoundedBodyReader implements BodyConsumer {
  private buffer: Buffer;
  private length = 0;
  private settled = false;
  private deadline: NodeJS.Timeout | null = null;

  /**
   * `initialBytes` (already reserved) is the first allocation; growth, never past `capacity`,
   * reserves the difference.
   * The deadline timer is cleared when the read settles (also when attach() delivers it all at once).
   */
  constructor(
    private readonly body: RequestBody,
    private readonly maxBytes: number,
    private readonly capacity: number,
    initialBytes: number,
    private readonly context: BodyReadContext,
    private readonly resolve: (body: Buffer) => void,
    private readonly reject: (err: CorporalError) => void,
  ) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
    const timeoutMs = context.bodyReadTimeoutMs();
    if (Number.isFinite(timeoutMs)) {
      this.deadline = setTimeout(() => this.timedOut(), timeoutMs);
      this.deadline.unref();
    }
  }

  bodyChunk(chunk: Uint8Array): void {
    if (this.settled) return;
    const needed = this.length + chunk.byteLength;
    if (needed > this.maxBytes) {
      this.stopReading(tooLarge(this.maxBytes));
      return;
    }
    if (needed > this.buffer.length && !this.grow(needed)) {
      this.stopReading(gatewayBusy());
      return;
    }
    this.buffer.set(chunk, this.length);
    this.length = needed;
  }

  bodyEnd(): void {
    if (this.settled) return;
    this.settle();
    this.resolve(this.buffer.subarray(0, this.length));
  }

  bodyAborted(): void {
    this.fail(new CorporalError(CLIENT_ABORTED, 'the client closed the connection while sending the body', { source: 'client', status: 400 }));
  }

  /** Grows the buffer to hold `needed` bytes; false when the budget refuses the extra bytes. */
  private grow(needed: number): boolean {
    let size = Math.max(this.buffer.length, 1);
    while (size < needed) size *= 2;
    // Never past the Content-Length, yet always room for `needed` (≤ maxBytes, checked before).
    size = Math.max(needed, Math.min(size, this.capacity));
    if (!this.context.reserveBuffer(size - this.buffer.length)) return false;
    const next = Buffer.allocUnsafe(size);
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
    return true;
  }

  private timedOut(): void {
    this.deadline = null;
    this.stopReading(new CorporalError(BODY_TIMEOUT, 'The request body did not arrive in time', { source: 'client', status: 408 }));
  }

  /** Rejects with `err` and stops reading from the client (the answer then closes the connection). */
  private stopReading(err: CorporalError): void {
    this.fail(err);
    this.body.pause();
  }

  private fail(err: CorporalError): void {
    if (this.settled) return;
    this.settle();
    this.reject(err);
  }

  private settle(): void {
    this.settled = true;
    if (this.deadline !== null) {
      clearTimeout(this.deadline);
      this.deadline = null;
    }
  }
}

/** The error of a body over `maxBytes` (413 `M_TOO_LARGE`, {@link BODY_TOO_LARGE}). */
export function tooLarge(maxBytes: number): CorporalError {
  return new CorporalError(BODY_TOO_LARGE, `Request body exceeds ${maxBytes} bytes`, {
    source: 'client', status: 413, errcode: ErrCode.TooLarge,
  });
}
