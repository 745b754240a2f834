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
 */
export class RequestBodyStream extends Readable implements BodyConsumer {
  /** `onProgress` is called for every chunk received from the client (the exchange's idle clock). */
  constructor(
    private readonly body: RequestBody,
    private readonly onProgress: () => void,
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
    const buffer = owned ? (chunk as Buffer) : Buffer.copyBytesFrom(chunk);
    if (!this.push(buffer)) this.body.pause();
  }

  /** The client's body is complete. */
  bodyEnd(): void {
    if (!this.destroyed) this.push(null);
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
