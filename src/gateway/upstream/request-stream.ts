import { Readable } from 'node:stream';
import type { BodyConsumer, RequestBody } from '../request-body.js';

/** Swallows the stream's own abort error (see the constructor). */
function ignoreError(): void {}

/** Buffered in the stream before reading from the client pauses. */
const HIGH_WATER_BYTES = 64 * 1024;

/**
 * A client request body as a Readable for undici, with backpressure both ways: when undici (the
 * upstream socket) stops reading, the stream's buffer fills, `push` returns false and reading from
 * the client pauses; undici reading again calls `_read`, which resumes the client.
 *
 * A client abort destroys the stream with an error, which makes undici abort the upstream request
 * (the homeserver sees the connection reset and never gets a truncated body as complete).
 *
 * The body's last byte is held back until `mayEnd()` says yes once the body is complete (each
 * chunk goes on at once but for its last byte, which goes with the next chunk): the homeserver
 * acts on a request only when its body is complete, and the client chooses when that is, so what
 * was decided at the request's start is checked once more before the homeserver can act (a no
 * destroys the stream, as an abort does).
 */
export class RequestBodyStream extends Readable implements BodyConsumer {
  /** The last byte received, not yet pushed (see the class comment). */
  private held: Buffer | null = null;

  /**
   * `onProgress` is called for every chunk received from the client (the exchange's idle clock);
   * `mayEnd` once the client's body is complete, before its last chunk goes on.
   */
  constructor(
    private readonly body: RequestBody,
    private readonly onProgress: () => void,
    private readonly mayEnd: () => boolean,
  ) {
    super({ highWaterMark: HIGH_WATER_BYTES });
    // The stream fails only when the client leaves (bodyAborted), and the exchange deals with
    // that itself. undici listens for errors once it reads the body, but a request queued in the
    // pool for a free connection has no reader yet: an unheard 'error' would then be an uncaught
    // exception that kills the gateway thread and every connection on it (red team 4, F2).
    this.on('error', ignoreError);
    body.attach(this);
  }

  /** A chunk of the client's body: pushed on (copied unless `owned`); the client is paused when undici has enough. */
  bodyChunk(chunk: Uint8Array, owned: boolean): void {
    if (this.destroyed) return;
    this.onProgress();
    if (chunk.length === 0) return;
    const buffer = owned ? (chunk as Buffer) : Buffer.copyBytesFrom(chunk);
    const previous = this.held;
    this.held = buffer.subarray(buffer.length - 1);
    let wantsMore = previous === null || this.push(previous);
    if (buffer.length > 1) wantsMore = this.push(buffer.subarray(0, buffer.length - 1)) && wantsMore;
    if (!wantsMore) this.body.pause();
  }

  /** The client's body is complete: the last chunk goes on only if `mayEnd()` allows it. */
  bodyEnd(): void {
    if (this.destroyed) return;
    if (!this.mayEnd()) {
      this.destroy(new Error('the request may no longer be completed'));
      return;
    }
    if (this.held !== null) this.push(this.held);
    this.held = null;
    this.push(null);
  }

  /** The client left mid-body: the stream fails, which aborts the upstream request. */
  bodyAborted(): void {
    this.destroy(new Error('the client aborted the request body'));
  }

  /** undici wants more: let the client send again. */
  override _read(): void {
    this.body.resume();
  }
}
