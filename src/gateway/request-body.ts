import type { ClientExchange } from './respond.js';

/** Receives a request body from {@link RequestBody}. */
export interface BodyConsumer {
  /**
   * One chunk. When `owned` is false the bytes are only valid during the call (uWS neuters its
   * buffer afterwards), so a consumer that keeps them must copy.
   */
  bodyChunk(chunk: Uint8Array, owned: boolean): void;
  /** The body is complete. */
  bodyEnd(): void;
  /** The client went away before the body was complete. */
  bodyAborted(): void;
}

/** Bytes queued before a consumer attaches; above this, reading from the client pauses. */
const QUEUE_HIGH_WATER_BYTES = 64 * 1024;

/**
 * The body of one client request, read from uWS as it arrives.
 *
 * uWS must have a data handler from the synchronous top of the request callback on, but the
 * pipeline decides only later (after an identity look-up, say) whether the body is streamed
 * upstream or buffered for a check. Until a {@link BodyConsumer} attaches, chunks are copied into a
 * small queue, and reading from the socket pauses once it holds {@link QUEUE_HIGH_WATER_BYTES}.
 * Consumers use {@link pause}/{@link resume} for backpressure.
 */
export class RequestBody {
  /** Bytes received so far. */
  received = 0;
  /** The last chunk arrived. */
  ended = false;
  /** The client went away before the end. */
  aborted = false;
  private consumer: BodyConsumer | null = null;
  private queue: Buffer[] | null = [];
  private queuedBytes = 0;
  private pausedByQueue = false;

  /**
   * Registers the uWS data handler (call synchronously in the request callback). `declaredLength`
   * is the request's `Content-Length`, or null for a chunked body.
   */
  constructor(
    private readonly exchange: ClientExchange,
    readonly declaredLength: number | null,
  ) {
    exchange.readRequestBody();
  }

  /** Called by the request context for each uWS data callback. */
  data(chunk: ArrayBuffer, isLast: boolean): void {
    if (this.ended || this.aborted) return;
    this.received += chunk.byteLength;
    const consumer = this.consumer;
    if (consumer !== null) {
      if (chunk.byteLength > 0) consumer.bodyChunk(new Uint8Array(chunk), false);
    } else if (chunk.byteLength > 0) {
      this.queue!.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
      this.queuedBytes += chunk.byteLength;
      if (this.queuedBytes >= QUEUE_HIGH_WATER_BYTES && !this.pausedByQueue) {
        this.pausedByQueue = true;
        this.exchange.pauseRequestBody();
      }
    }
    if (isLast) {
      this.ended = true;
      consumer?.bodyEnd();
    }
  }

  /** Called by the request context when the client aborts. */
  abort(): void {
    if (this.ended || this.aborted) return;
    this.aborted = true;
    this.consumer?.bodyAborted();
  }

  /**
   * Hands the body to `consumer`: what was queued is delivered at once (owned), then live chunks.
   * One consumer per body. If the client already left, `bodyAborted` is called right away.
   */
  attach(consumer: BodyConsumer): void {
    if (this.consumer !== null) throw new Error('request body already has a consumer');
    this.consumer = consumer;
    const queue = this.queue!;
    this.queue = null;
    this.queuedBytes = 0;
    if (this.pausedByQueue) {
      // Resumed before the queue is delivered, so that a consumer pausing on it stays paused.
      this.pausedByQueue = false;
      this.exchange.resumeRequestBody();
    }
    for (const chunk of queue) consumer.bodyChunk(chunk, true);
    if (this.aborted) consumer.bodyAborted();
    else if (this.ended) consumer.bodyEnd();
  }

  /** Stops reading from the client until {@link resume}. */
  pause(): void {
    this.exchange.pauseRequestBody();
  }

  /** Resumes reading from the client. */
  resume(): void {
    this.exchange.resumeRequestBody();
  }
}
