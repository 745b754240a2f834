import { Readable } from 'node:stream';
import type { BodyConsumer, RequestBody } from '../request-body.js';

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
    body.attach(this);
  }

  bodyChunk(chunk: Uint8Array, owned: boolean): void {
    if (this.destroyed) return;
    this.onProgress();
    const buffer = owned ? (chunk as Buffer) : Buffer.copyBytesFrom(chunk);
    if (!this.push(buffer)) this.body.pause();
  }

  bodyEnd(): void {
    if (!this.destroyed) this.push(null);
  }

  bodyAborted(): void {
    this.destroy(new Error('the client aborted the request body'));
  }

  override _read(): void {
    this.body.resume();
  }
}
