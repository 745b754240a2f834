import { STATUS_CODES } from 'node:http';
import type { HttpResponse, RecognizedString } from '@trufflesuite/uws-js-unofficial';
import { matrixErrorJson } from '../common/matrix-errors.js';
import { isBodyless, mayAnnounceLength } from './bodyless.js';
import { formatPeerAddress } from './peer-address.js';

/** A response header as written to the client. */
export type HeaderPair = readonly [name: string, value: string];

/**
 * Response headers as a flat list `[name0, value0, name1, value1, …]`: strings, or the raw bytes
 * of an upstream header (written unchanged, so non-ASCII values keep their bytes).
 */
export type FlatHeaders = readonly RecognizedString[];

/**
 * CORS headers on every locally generated answer, as matrix-corporal and Synapse send them
 * (reference §6.1/§6.6), so that browser clients can read our errors.
 */
export const CORS_HEADERS: readonly HeaderPair[] = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Methods', 'GET, HEAD, POST, PUT, DELETE, OPTIONS'],
  ['Access-Control-Allow-Headers', 'X-Requested-With, Content-Type, Authorization, Date'],
];

/** Headers of a locally generated Matrix error (JSON, with {@link CORS_HEADERS}). */
export const JSON_ERROR_HEADERS: readonly HeaderPair[] = [['Content-Type', 'application/json'], ...CORS_HEADERS];
const TEXT_HEADERS: readonly HeaderPair[] = [['Content-Type', 'text/plain; charset=utf-8'], ...CORS_HEADERS];

const statusLines = new Map<number, string>();

/** `"404 Not Found"` for 404: the status line uWS expects, cached per code. */
export function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    statusLines.set(status, line);
  }
  return line;
}

/** Told when an exchange ends; implemented by the server (in-flight set) and the request context. */
export interface ExchangeListener {
  /** The exchange finished or aborted; called exactly once. */
  exchangeSettled(exchange: ClientExchange): void;
}

/** Told what happens to a streamed exchange; implemented by the request context. */
export interface ExchangeEvents extends ExchangeListener {
  /**
   * The exchange ended before the response was complete: the client went away, or the gateway cut
   * the connection ({@link ClientExchange.forceClose}). Called at most once, before `exchangeSettled`.
   */
  exchangeAborted(): void;
  /** The client can take more of the response body again after {@link ClientExchange.writeBody} returned false. */
  exchangeWritable(): void;
  /** A chunk of the request body, valid only during the call (uWS neuters it afterwards). */
  requestData(chunk: ArrayBuffer, isLast: boolean): void;
}

/** How the body of a streamed response is framed. */
const enum Framing {
  /** No streamed response started. */
  None,
  /** `Content-Length` known: `tryEnd(chunk, total)`. */
  Fixed,
  /** Unknown length: chunked `write`, then `end()`. */
  Chunked,
}

/**
 * One client exchange: the only object allowed to touch a uWS `HttpResponse`.
 *
 * uWS invalidates `res` once it is aborted or ended, and touching it afterwards crashes the
 * process; so every write goes through here, is corked (required outside the synchronous top of
 * the handler), and becomes a no-op once the exchange is aborted or finished. The abort handler is
 * registered in the constructor, i.e. synchronously in the request callback, before anything async.
 *
 * Besides complete answers ({@link send}) it streams: {@link beginResponse} + {@link writeBody} +
 * {@link endResponse}, with backpressure reported through {@link ExchangeEvents.exchangeWritable};
 * and it reads the request body ({@link readRequestBody}, {@link pauseRequestBody}).
 *
 * uWS writes `Date`, `uWebSockets` and the body framing header (`Content-Length` from `end`/`tryEnd`,
 * `Transfer-Encoding: chunked` from `write`) itself; headers passed in must not contain those.
 */
export class ClientExchange {
  /** The client went away (connection closed or reset) before the response was complete. */
  aborted = false;
  /**
   * The gateway cut the connection itself ({@link forceClose}: a streamed response that cannot be
   * completed, the drain deadline) before the response was complete: not a client abort.
   */
  cut = false;
  /** A complete response was handed to uWS. */
  finished = false;
  /**
   * Status of the response head handed to uWS; 0 until one is. A streamed head goes out with the
   * first body chunk or the end, so a streamed response cut before that leaves it at 0.
   */
  status = 0;
  /**
   * The head written is the homeserver's own, relayed: a streamed response, or a complete one sent
   * with `relayed` (sendUpstream, sendWithoutBody). False for every answer the gateway makes (a
   * refusal, an error, a hook's reply that replaced Synapse's), and while no head was written.
   */
  relayed = false;
  /** Response body bytes handed to uWS. */
  bodyBytesSent = 0;
  /** The request is a HEAD request: complete answers are sent without their body (uWS would send it). */
  headRequest = false;
  /** The request body has not been fully received yet (a reader is registered). */
  private requestBodyPending = false;
  private requestPaused = false;
  private events: ExchangeEvents | null = null;

  // Streaming state. The head is written together with the first chunk (one corked write).
  private framing = Framing.None;
  private headPending = false;
  /** The status {@link beginResponse} was given: {@link status} once the head is written. */
  private headStatus = 0;
  private headHeaders: FlatHeaders = [];
  private totalLength = 0;
  /** A fixed-length chunk uWS did not fully take, and the write offset at which it started. */
  private blocked: Uint8Array | null = null;
  private blockedOffset = 0;
  private chunk: Uint8Array | null = null;
  private lastWriteOk = true;
  /**
   * uWS' writable handler is registered on the first write it does not fully take, not with every
   * streamed response: most responses go out in one write, and the handler (a closure and a native
   * call) would only ever be dropped. Registering it right after the refused write, before control
   * returns to the event loop, cannot miss the writable event.
   */
  private writableRegistered = false;
  private readonly writeChunkCorked = (): void => this.writeChunk();
  private readonly finishStreamCorked = (): void => this.finishStream();
  /** {@link forceClose} is closing the connection: the abort uWS then reports is the gateway's {@link cut}. */
  private closing = false;

  /** `owner` is told when the exchange finishes or aborts (exactly once). */
  constructor(
    private readonly res: HttpResponse,
    private readonly owner: ExchangeListener,
  ) {
    res.onAborted(() => {
      if (!this.isOpen) return;
      if (this.closing) this.cut = true;
      else this.aborted = true;
      const events = this.events;
      this.release();
      events?.exchangeAborted();
      this.owner.exchangeSettled(this);
      events?.exchangeSettled(this);
    });
  }

  /** True while a response may still be written. */
  get isOpen(): boolean {
    return !this.aborted && !this.cut && !this.finished;
  }

  /** True once a streamed response's status and headers were handed to uWS (an error answer is then impossible). */
  get responseStarted(): boolean {
    return this.framing !== Framing.None || this.finished;
  }

  /** The client's IP address (see peer-address.ts). Read it synchronously in the request callback. */
  remoteAddress(): string {
    return formatPeerAddress(new Uint8Array(this.res.getRemoteAddress()));
  }

  /** Registers the object told about aborts, writability, request data and the end; one per exchange. */
  observe(events: ExchangeEvents): void {
    this.events = events;
  }

  /**
   * Starts receiving the request body; chunks go to {@link ExchangeEvents.requestData}. Must be
   * called synchronously in the request callback when the request has a body: uWS drops the
   * connection if body data arrives with no reader registered.
   */
  readRequestBody(): void {
    if (!this.isOpen || this.requestBodyPending) return;
    this.requestBodyPending = true;
    this.res.onData((chunk, isLast) => {
      if (isLast) this.requestBodyPending = false;
      if (this.isOpen) this.events?.requestData(chunk, isLast);
    });
  }

  /** Stops reading the request body from the socket (backpressure); no-op once the exchange ended. */
  pauseRequestBody(): void {
    if (!this.isOpen || this.requestPaused || !this.requestBodyPending) return;
    this.requestPaused = true;
    this.res.pause();
  }

  /** Resumes reading after {@link pauseRequestBody}. */
  resumeRequestBody(): void {
    if (!this.isOpen || !this.requestPaused) return;
    this.requestPaused = false;
    this.res.resume();
  }

  /**
   * Sends a complete response. `closeConnection` asks uWS to close the connection afterwards
   * (used while draining). The connection is also closed when the request body has not been fully
   * received: draining an unwanted upload to keep the connection would cost more than a reconnect.
   * No-op when the exchange is no longer open or a streamed response already started.
   *
   * A response that has no body ({@link isBodyless}: HEAD, 1xx, 204, 304) is sent without `body`:
   * with a `Content-Length` of the body's length where one is allowed ({@link mayAnnounceLength}),
   * none on 1xx and 204. Such a response asks the client to close with `Connection: close` instead
   * (uWS would add a `Content-Length` to close it itself; it drains an unread request body).
   */
  send(status: number, headers: readonly HeaderPair[], body: RecognizedString, closeConnection = false): void {
    if (!this.isOpen || this.framing !== Framing.None) return;
    const close = closeConnection || this.requestBodyPending;
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    this.status = status;
    this.res.cork(() => {
      this.releaseRequest();
      this.res.writeStatus(statusLine(status));
      for (const [name, value] of headers) this.res.writeHeader(name, value);
      if (isBodyless(this.headRequest, status)) {
        if (mayAnnounceLength(status)) this.res.writeHeader('Content-Length', String(length));
        if (close) this.res.writeHeader('Connection', 'close');
        this.res.endWithoutBody();
      } else {
        this.res.end(body, close);
        this.bodyBytesSent += length;
      }
    });
    this.settle();
  }

  /**
   * Sends a complete response whose headers come from upstream (see {@link FlatHeaders}).
   * `relayed`: it is the homeserver's answer ({@link relayed}), not one the gateway put in its place.
   */
  sendUpstream(status: number, headers: FlatHeaders, body: Uint8Array, relayed: boolean): void {
    if (!this.isOpen || this.framing !== Framing.None) return;
    const close = this.requestBodyPending;
    this.status = status;
    this.relayed = relayed;
    this.res.cork(() => {
      this.releaseRequest();
      this.res.writeStatus(statusLine(status));
      writeFlatHeaders(this.res, headers);
      this.res.end(body, close);
    });
    this.bodyBytesSent += body.byteLength;
    this.settle();
  }

  /** Sends a Matrix error `{"errcode","error"}` (plus `retry_after_ms` when `retryAfterMs` is given) with CORS headers. */
  sendMatrixError(status: number, errcode: string, message: string, extraHeaders: readonly HeaderPair[] = [], closeConnection = false, retryAfterMs?: number): void {
    const headers = extraHeaders.length === 0 ? JSON_ERROR_HEADERS : [...JSON_ERROR_HEADERS, ...extraHeaders];
    this.send(status, headers, matrixErrorJson(errcode, message, retryAfterMs), closeConnection);
  }

  /** Sends a plain-text answer with CORS headers. */
  sendText(status: number, text: string): void {
    this.send(status, TEXT_HEADERS, text);
  }

  /**
   * Sends a response without a body (HEAD, 1xx, 204, 304: {@link isBodyless}). `contentLength`,
   * when given and allowed for `status` ({@link mayAnnounceLength}: never on 1xx and 204), is
   * written as the `Content-Length` header (the length the body would have had): uWS' own
   * `endWithoutBody(length)` would wait for that many body bytes and break the keep-alive connection.
   * `relayed` as for {@link sendUpstream}.
   */
  sendWithoutBody(status: number, headers: FlatHeaders, contentLength: RecognizedString | null, relayed: boolean): void {
    if (!this.isOpen || this.framing !== Framing.None) return;
    this.status = status;
    this.relayed = relayed;
    this.res.cork(() => {
      this.releaseRequest();
      this.res.writeStatus(statusLine(status));
      writeFlatHeaders(this.res, headers);
      if (contentLength !== null && mayAnnounceLength(status)) this.res.writeHeader('Content-Length', contentLength);
      // Called without arguments on purpose: any first argument (even undefined) makes uWS write
      // its own Content-Length. uWS drains a still-incoming request body before the next request.
      this.res.endWithoutBody();
    });
    this.settle();
  }

  /**
   * Starts a streamed response. Nothing is written yet: status and headers go out with the first
   * body chunk or the end. `totalLength` is the body length when known (framed with
   * `Content-Length` by uWS), or null for chunked transfer encoding. Only the proxy streams: the
   * response is the homeserver's ({@link relayed} once its head is written).
   */
  beginResponse(status: number, headers: FlatHeaders, totalLength: number | null): void {
    if (!this.isOpen || this.framing !== Framing.None) return;
    this.headStatus = status;
    this.framing = totalLength === null ? Framing.Chunked : Framing.Fixed;
    this.totalLength = totalLength ?? 0;
    this.headHeaders = headers;
    this.headPending = true;
  }

  /**
   * Writes one body chunk of a streamed response. Returns false when the client cannot take more
   * for now: the caller pauses its source until {@link ExchangeEvents.exchangeWritable}. The
   * chunk must stay unchanged until then (a fixed-length chunk may be re-sent from an offset).
   */
  writeBody(chunk: Uint8Array): boolean {
    if (!this.isOpen || this.framing === Framing.None || chunk.byteLength === 0) return true;
    this.chunk = chunk;
    this.res.cork(this.writeChunkCorked);
    this.chunk = null;
    return this.lastWriteOk;
  }

  /** Ends a streamed response (after the last chunk). For a fixed length, uWS ends it with the last byte. */
  endResponse(): void {
    if (!this.isOpen || this.framing === Framing.None) return;
    if (this.framing === Framing.Fixed && !this.headPending && this.totalLength > 0) return;
    this.res.cork(this.finishStreamCorked);
  }

  /**
   * Forcibly closes the connection (drain deadline passed, or a streamed response cannot be
   * completed). The exchange ends as {@link cut}, not {@link aborted}: uWS reports the close
   * through the same abort callback as a client leaving.
   */
  forceClose(): void {
    if (!this.isOpen) return;
    this.closing = true;
    this.res.close();
  }

  private writeChunk(): void {
    const chunk = this.chunk!;
    if (this.headPending) this.writeHead();
    this.bodyBytesSent += chunk.byteLength;
    if (this.framing === Framing.Chunked) {
      this.lastWriteOk = this.res.write(chunk);
      if (!this.lastWriteOk) this.awaitWritable();
      return;
    }
    const offset = this.res.getWriteOffset();
    if (offset + chunk.byteLength >= this.totalLength) this.releaseRequest();
    const [ok, done] = this.res.tryEnd(chunk, this.totalLength);
    if (done) {
      this.lastWriteOk = true;
      this.settle();
    } else if (!ok) {
      this.blocked = chunk;
      this.blockedOffset = offset;
      this.lastWriteOk = false;
      this.awaitWritable();
    } else {
      this.lastWriteOk = true;
    }
  }

  private finishStream(): void {
    this.releaseRequest();
    if (this.headPending) this.writeHead();
    this.res.end();
    this.settle();
  }

  private writeHead(): void {
    this.headPending = false;
    this.status = this.headStatus;
    this.relayed = true;
    this.res.writeStatus(statusLine(this.status));
    writeFlatHeaders(this.res, this.headHeaders);
    this.headHeaders = [];
  }

  /** Registers uWS' writable callback (once per exchange) after a write uWS did not fully take. */
  private awaitWritable(): void {
    if (this.writableRegistered) return;
    this.writableRegistered = true;
    this.res.onWritable((offset) => this.writable(offset));
  }

  /** uWS' writable callback: retries a blocked fixed-length chunk, or reports that chunked writes drained. */
  private writable(offset: number): boolean {
    if (!this.isOpen) return true;
    const blocked = this.blocked;
    if (blocked !== null) {
      this.releaseRequest();
      const [ok, done] = this.res.tryEnd(blocked.subarray(offset - this.blockedOffset), this.totalLength);
      if (done) {
        this.blocked = null;
        this.settle();
        return true;
      }
      if (!ok) return false;
      this.blocked = null;
    }
    this.events?.exchangeWritable();
    return true;
  }

  /**
   * Resumes a paused request body before the write that may complete the response: after it,
   * `res` must not be touched, and uWS has to read (and discard) the rest of the body before the
   * next request on the connection.
   */
  private releaseRequest(): void {
    if (!this.requestPaused) return;
    this.requestPaused = false;
    this.res.resume();
  }

  private settle(): void {
    if (this.finished) return;
    this.finished = true;
    const events = this.events;
    this.release();
    this.owner.exchangeSettled(this);
    events?.exchangeSettled(this);
  }

  /**
   * Drops what the exchange refers to once it has ended. uWS keeps an ended response's callbacks
   * (and so this object) alive for a while; without this, every request's context, upstream
   * exchange and buffers would survive young-generation GCs and be promoted (measured: 2.8 MB
   * promoted per scavenge under load, 0.5 MB with it, scavenges 3× shorter).
   */
  private release(): void {
    this.events = null;
    this.blocked = null;
    this.chunk = null;
    this.headHeaders = [];
  }
}

function writeFlatHeaders(res: HttpResponse, headers: FlatHeaders): void {
  for (let i = 0; i + 1 < headers.length; i += 2) res.writeHeader(headers[i]!, headers[i + 1]!);
}
