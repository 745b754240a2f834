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
 * The body's last byte is held back until `mayEnd()` says yes once the body is complete: the
 * homeserver acts on a request only when its body is complete, and the client chooses when that
 * is, so what was decided at the request's start is checked once more before the homeserver can
 * act (a no destroys the stream, as an abort does). Chunks go on in a microtask, all but that last
 * byte, so a body whose last chunk arrives with its end (every small body) is written whole, once.
 */
export class RequestBodyStream extends Readable implements BodyConsumer {
  /** Received and not yet pushed: at most the last byte once a flush has run (see the class comment). */
  private unsent: Buffer[] = [];
  private flushQueued = false;
  private ended = false;

  /**
   * `onProgress` is called for every chunk received from the client (the exchange's idle clock);
   * `mayEnd` once the client's body is complete, before what is left of it goes on.
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

  /**
   * A chunk of the client's body (copied unless `owned`): pushed on in a microtask but for the
   * body's last byte so far; the client is paused when undici has enough.
   */
  bodyChunk(chunk: Uint8Array, owned: boolean): void {
    if (this.destroyed) return;
    this.onProgress();
    if (chunk.length === 0) return;
    this.unsent.push(owned ? (chunk as Buffer) : Buffer.copyBytesFrom(chunk));
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flushAllButLastByte());
    }
  }

  /** The client's body is complete: what is left goes on only if `mayEnd()` allows it. */
  bodyEnd(): void {
    if (this.destroyed) return;
    this.ended = true;
    if (!this.mayEnd()) {
      this.destroy(new Error('the request may no longer be completed'));
      return;
    }
    for (const buffer of this.unsent) this.push(buffer);
    this.unsent = [];
    this.push(null);
  }

  private flushAllButLastByte(): void {
    this.flushQueued = false;
    const unsent = this.unsent;
    if (this.destroyed || this.ended || unsent.length === 0) return;
    const last = unsent[unsent.length - 1]!;
    let wantsMore = true;
    for (let i = 0; i < unsent.length - 1; i++) wantsMore = this.push(unsent[i]) && wantsMore;
    if (last.length > 1) wantsMore = this.push(last.subarray(0, last.length - 1)) && wantsMore;
    this.unsent = [last.subarray(last.length - 1)];
    if (!wantsMore) this.body.pause();
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
