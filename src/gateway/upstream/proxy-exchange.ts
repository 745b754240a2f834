import type { Dispatcher } from 'undici';
import type { Logger } from '../../common/logger.js';
import { warnThrottled, type LogThrottle } from '../../common/log-throttle.js';
import { CorporalError } from '../../common/errors.js';
import { isBodyless } from '../bodyless.js';
import type { MainPoolShare } from './main-pool-share.js';
import type { RequestContext } from '../request-context.js';
import type { UpstreamPools } from './pools.js';
import type { TrustedProxies } from './forwarded-for.js';
import { buildUpstreamRequestHeaders } from './request-headers.js';
import { RequestBodyStream } from './request-stream.js';
import { filterResponseHeaders, parseContentLength } from './response-headers.js';
import { exchangeTimeouts, isLongPoll, type ExchangeTimeouts, type ProxyTimeoutConfig } from './timeouts.js';
import { gatewayBusy } from '../buffer-refusal.js';
import { clientGone, describeCause, policyChangedWhileQueued, requestHeadTooLarge, responseTooLarge, upstreamFailure, upstreamTimeout } from './upstream-errors.js';
import { exceedsUpstreamHeadLimit, UPSTREAM_HEAD_LIMIT_BYTES } from './header-section.js';

/** A complete upstream response held in memory (for after-hooks). */
export interface BufferedResponse {
  status: number;
  /** The upstream's raw headers, flat `[name, value, …]`, unfiltered. */
  rawHeaders: Buffer[];
  body: Buffer;
  /**
   * The gateway put its own answer in place of the homeserver's (an after-hook's `reject` or
   * `respond`, the after-hook failure answer): sent as the gateway's, not relayed. Absent on the
   * homeserver's response, changed or not (a `pass.modifiedResponse` keeps Synapse's status).
   */
  replaced?: boolean;
}

/** What a {@link ResponseBufferRequest} receives: the whole response, or why there is none. */
export type BufferedResult = { ok: true; response: BufferedResponse } | { ok: false; error: CorporalError };

/**
 * Asks the proxy to buffer the upstream response (up to `limitBytes` of body) and hand it to
 * `onResponse` instead of streaming it. `onResponse` then answers the client, e.g. with
 * {@link sendBufferedResponse}. On failure it gets the `CorporalError` (502/504, or
 * `CORP_ERR_RESPONSE_TOO_LARGE`) and must answer too (`answerError`). It is not called if the
 * client left; if it throws, the client gets a 500.
 */
export interface ResponseBufferRequest {
  limitBytes: number;
  onResponse(ctx: RequestContext, result: BufferedResult): void;
}

/** Told when upstream response headers arrive, before anything is written to the client. */
export interface UpstreamResponseObserver {
  upstreamResponded(ctx: RequestContext, status: number): void;
}

/** What every proxy exchange of a thread shares (built once in the composition root). */
export interface ProxySettings {
  pools: UpstreamPools;
  timeouts: ProxyTimeoutConfig;
  /** Whose `X-Forwarded-For` is believed (`HttpGateway.TrustedProxies`). */
  trustedProxies: TrustedProxies;
  observer: UpstreamResponseObserver;
  logger: Logger;
  /**
   * Throttles the warning of a failed exchange (one line per interval per thread, with the count
   * held back): while the homeserver is down every request fails, and clients retry in a loop —
   * one line each was 1,700 lines/s in a soak test (soak review 18, S1), drowning the lines that
   * matter. The access log still has every request.
   */
  failureLog: LogThrottle;
  /** Answers a failed exchange whose response has not started (the pipeline's error mapping). */
  answerError(ctx: RequestContext, err: unknown): void;
  /**
   * True when the newest policy's before-hooks differ from those that ran for the request and may
   * fire for it (asked when the request is about to be written, and before a streamed body ends).
   */
  hooksChangedFor(ctx: RequestContext): boolean;
  /** A requester's share of the `main` pool (main-pool-share.ts): past it, requests use the uncapped pool. Absent: no share. */
  mainPoolShare?: MainPoolShare;
}

/** Where a proxy exchange is. */
const enum State {
  Waiting,
  Streaming,
  Buffering,
  Done,
}

/**
 * One proxied request: an undici dispatch handler (controller API) that streams the client
 * request body upstream and the upstream response to the client, with backpressure both ways.
 *
 * - Response: undici data → `ClientExchange.writeBody`; when the client cannot take more,
 *   `controller.pause()`, and `resume()` when uWS reports the socket writable again.
 * - Request: the body streams through a {@link RequestBodyStream} (or a phase's buffered body).
 * - Client abort → `controller.abort()` (or, while the request still queues in the pool, at its
 *   start); the upstream connection is then closed and the homeserver sees the request cut.
 * - Upstream failure before the response started → 502/504 Matrix error; after it started → the
 *   client connection is closed (the status line is already out, so that is the only honest signal).
 * - Timeouts: see timeouts.ts. A watchdog caps the exchange; past the cap it lives on only while
 *   body bytes keep moving, and never for a response being buffered ({@link watchdogExpired}).
 *
 * Every callback becomes a no-op once the exchange is done, whichever side ended it first, and
 * `start()` stops where it finds the exchange done (a complete body refused as it is attached).
 */
export class ProxyExchange implements Dispatcher.DispatchHandler {
  private state = State.Waiting;
  private controller: Dispatcher.DispatchController | null = null;
  /** Set when the exchange ended before undici started the request: abort it as soon as it does. */
  private pendingAbort: Error | null = null;
  private requestStream: RequestBodyStream | null = null;
  private readonly timeouts: ExchangeTimeouts;
  private watchdog: NodeJS.Timeout | null = null;
  private lastProgressAt = Number.NEGATIVE_INFINITY;
  /** When a buffered response must be complete (see {@link watchdogExpired}); set as buffering starts. */
  private bufferDeadline = Number.POSITIVE_INFINITY;
  // Buffering (after-hooks).
  private bufferedStatus = 0;
  private bufferedHeaders: Buffer[] = [];
  private bufferedChunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** The key this exchange holds a place of `ProxySettings.mainPoolShare` under, until it is done. */
  private mainShareKey: string | null = null;

  constructor(
    private readonly ctx: RequestContext,
    private readonly settings: ProxySettings,
  ) {
    this.timeouts = exchangeTimeouts(ctx.routeId, ctx.rawQuery, settings.timeouts);
  }

  /** Sends the request upstream. */
  start(): void {
    const ctx = this.ctx;
    const { pools } = this.settings;
    let body: Buffer | RequestBodyStream | null = null;
    let contentLength: string | null = null;
    if (ctx.bufferedBody !== null) {
      body = ctx.bufferedBody;
      contentLength = String(ctx.bufferedBody.length);
    } else if (ctx.body !== null) {
      this.requestStream = new RequestBodyStream(ctx.body, () => {
        this.lastProgressAt = performance.now();
      }, () => this.mayCompleteBody());
      // A body that was complete already has been offered to `mayCompleteBody` just now: refused,
      // the exchange is over, and nothing may be armed or dispatched for it.
      if (this.state === State.Done) return;
      body = this.requestStream;
      if (ctx.body.declaredLength !== null) contentLength = String(ctx.body.declaredLength);
    }
    const target = ctx.upstreamTarget ?? (ctx.rawQuery === '' ? ctx.rawPath : `${ctx.rawPath}?${ctx.rawQuery}`);
    const path = pools.target.basePath + target;
    const headers = buildUpstreamRequestHeaders(ctx.headers, ctx.remoteAddress, this.settings.trustedProxies, contentLength);
    // A head Synapse's HTTP server would refuse, or drop unanswered, is the client's error: not sent.
    if (exceedsUpstreamHeadLimit(ctx.method, path, headers, pools.target.host, body !== null && contentLength === null)) {
      this.finish(requestHeadTooLarge(UPSTREAM_HEAD_LIMIT_BYTES));
      return;
    }
    const options: Dispatcher.DispatchOptions = {
      path,
      method: ctx.method as Dispatcher.HttpMethod,
      headers,
      body,
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.idleMs,
    };
    this.watchdog = setTimeout(watchdogFired, this.timeouts.capMs, this);
    this.watchdog.unref();
    // Connections a client can hold at will go to the uncapped pool (pools.ts), and so do a
    // requester's requests beyond its share of the main pool (ProxySettings.mainPoolShare).
    let pool = this.requestStream !== null || isLongPoll(ctx.routeId) ? pools.uncapped : pools.main;
    const share = this.settings.mainPoolShare;
    if (pool === pools.main && share !== undefined) {
      const key = share.key(ctx);
      if (key !== null) {
        if (share.places.tryAcquire(key)) this.mainShareKey = key;
        else pool = pools.uncapped;
      }
    }
    pool.dispatch(options, this);
  }

  /** The client left: abort the upstream request. */
  clientAborted(): void {
    this.finish(clientGone());
  }

  /** The client can take more response body. */
  clientWritable(): void {
    if (this.state === State.Streaming) this.controller?.resume();
  }

  /** The client exchange ended (response complete, or aborted). */
  clientSettled(): void {
    if (this.state === State.Streaming && this.ctx.exchange.finished) {
      // A fixed-length response completes with its last byte, which may have gone out through
      // uWS' writable callback while undici was paused: resume it, or undici never reads the end
      // of the upstream response and the connection never returns to the pool.
      this.clearWatchdog();
      this.controller?.resume();
    }
  }

  /**
   * Whether a streamed body may be completed upstream (its last byte written): not when a newer
   * policy arrived meanwhile whose before-hooks, had they run, could have answered the request
   * instead (`ProxySettings.hooksChangedFor`). The exchange is then answered 503.
   */
  private mayCompleteBody(): boolean {
    if (!this.settings.hooksChangedFor(this.ctx)) return true;
    this.finish(policyChangedWhileQueued());
    return false;
  }

  /** Called when the request has its upstream connection, right before undici writes it. */
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort !== null) {
      controller.abort(this.pendingAbort);
      return;
    }
    // A request can wait here for a connection of the capped pool, and a client that holds every
    // connection (responses it does not read) decides how long: a request let through on the
    // policy of then must not reach Synapse after a newer policy has been applied (red team 10).
    const ctx = this.ctx;
    if (!ctx.decisionStillStands() || this.settings.hooksChangedFor(ctx)) this.finish(policyChangedWhileQueued());
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    // undici hands over informational heads (102 Processing, 103 Early Hints, from a proxy or CDN
    // in front of Synapse) before the final one: dropped, or the exchange would settle on one and
    // the client would never get the answer (quality review 17). uWS cannot send them anyway.
    if (this.state !== State.Waiting || statusCode < 200) return;
    const ctx = this.ctx;
    ctx.upstreamStatus = statusCode;
    this.lastProgressAt = performance.now();
    this.settings.observer.upstreamResponded(ctx, statusCode);
    const rawHeaders = controller.rawHeaders as Buffer[];
    if (ctx.responseBuffer !== null) {
      this.state = State.Buffering;
      this.bufferDeadline = this.lastProgressAt + this.timeouts.idleMs;
      this.bufferedStatus = statusCode;
      this.bufferedHeaders = rawHeaders;
      return;
    }
    const exchange = ctx.exchange;
    const head = filterResponseHeaders(rawHeaders);
    if (isBodyless(exchange.headRequest, statusCode)) {
      this.state = State.Done;
      this.releaseMainShare();
      this.clearWatchdog();
      exchange.sendWithoutBody(statusCode, head.headers, head.contentLength, true);
      return;
    }
    this.state = State.Streaming;
    exchange.beginResponse(statusCode, head.headers, parseContentLength(head.contentLength));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.state === State.Streaming) {
      this.lastProgressAt = performance.now();
      if (!this.ctx.exchange.writeBody(chunk)) controller.pause();
    } else if (this.state === State.Buffering) {
      this.lastProgressAt = performance.now();
      const limit = this.ctx.responseBuffer!.limitBytes;
      this.bufferedBytes += chunk.length;
      if (this.bufferedBytes > limit) {
        this.finish(responseTooLarge(limit));
        return;
      }
      if (!this.ctx.reserveBuffer(chunk.length)) {
        this.finish(gatewayBusy());
        return;
      }
      this.bufferedChunks.push(chunk);
    }
  }

  onResponseEnd(): void {
    const state = this.state;
    if (state !== State.Streaming && state !== State.Buffering) return;
    this.state = State.Done;
    this.releaseMainShare();
    this.clearWatchdog();
    if (state === State.Streaming) {
      this.ctx.exchange.endResponse();
      return;
    }
    const response: BufferedResponse = {
      status: this.bufferedStatus,
      rawHeaders: this.bufferedHeaders,
      body: Buffer.concat(this.bufferedChunks, this.bufferedBytes),
    };
    this.bufferedChunks = [];
    this.deliver({ ok: true, response });
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    this.finish(upstreamFailure(error));
  }

  /**
   * Ends the exchange with `err` unless it already ended: aborts the upstream side and answers
   * the client (error answer, or a closed connection once the response started).
   */
  private finish(err: CorporalError): void {
    const state = this.state;
    if (state === State.Done) return;
    this.state = State.Done;
    this.releaseMainShare();
    this.clearWatchdog();
    this.requestStream?.destroy();
    if (this.controller !== null) {
      if (!this.controller.aborted) this.controller.abort(err);
    } else {
      this.pendingAbort = err;
    }
    const ctx = this.ctx;
    if (!ctx.exchange.isOpen) return;
    if (err.source === 'upstream') {
      warnThrottled(this.settings.failureLog, this.settings.logger,
        { route: ctx.routeId, method: ctx.method, code: err.code, cause: describeCause(err), upstreamStatus: ctx.upstreamStatus || undefined },
        'proxying to the homeserver failed');
    }
    if (state === State.Buffering || (state === State.Waiting && ctx.responseBuffer !== null)) {
      this.deliver({ ok: false, error: err });
    } else if (ctx.exchange.responseStarted) {
      ctx.exchange.forceClose();
    } else {
      this.settings.answerError(ctx, err);
    }
  }

  private releaseMainShare(): void {
    if (this.mainShareKey === null) return;
    this.settings.mainPoolShare!.places.release(this.mainShareKey);
    this.mainShareKey = null;
  }

  /** Hands a buffered result to the phase that asked for it (only while the client is there). */
  private deliver(result: BufferedResult): void {
    const ctx = this.ctx;
    if (!ctx.exchange.isOpen) return;
    try {
      ctx.responseBuffer!.onResponse(ctx, result);
    } catch (err) {
      this.settings.answerError(ctx, err);
    }
  }

  /**
   * The exchange timer fired (see {@link watchdogFired}). Past the cap, a moving body keeps the
   * exchange alive — but not a response being buffered: none of it reaches the client, and a
   * homeserver trickling a byte now and then would hold the client and the buffer for as long as
   * it liked (the limit then being only the buffer's size). It must be complete by the cap, or
   * within the upstream budget of its headers when they came later (after a long upload).
   */
  watchdogExpired(): void {
    this.watchdog = null;
    if (this.state === State.Done) return;
    const now = performance.now();
    if (this.state === State.Buffering) {
      if (now < this.bufferDeadline) {
        this.watchdog = setTimeout(watchdogFired, this.bufferDeadline - now, this);
        this.watchdog.unref();
        return;
      }
      this.finish(upstreamTimeout());
      return;
    }
    const idleFor = now - this.lastProgressAt;
    if (idleFor < this.timeouts.idleMs) {
      this.watchdog = setTimeout(watchdogFired, this.timeouts.idleMs - idleFor, this);
      this.watchdog.unref();
      return;
    }
    this.finish(upstreamTimeout());
  }

  private clearWatchdog(): void {
    if (this.watchdog !== null) {
      clearTimeout(this.watchdog);
      this.watchdog = null;
    }
  }
}

/** Timer callback shared by all exchanges (no closure per request). */
function watchdogFired(exchange: ProxyExchange): void {
  exchange.watchdogExpired();
}

/**
 * Writes a buffered upstream response (possibly changed or replaced by an after-hook) to the
 * client, without its body when it has none ({@link isBodyless}: HEAD, 1xx, 204, 304). It is
 * relayed (`ClientExchange.relayed`) unless {@link BufferedResponse.replaced}.
 */
export function sendBufferedResponse(ctx: RequestContext, response: BufferedResponse): void {
  const head = filterResponseHeaders(response.rawHeaders);
  const relayed = response.replaced !== true;
  if (isBodyless(ctx.exchange.headRequest, response.status)) {
    ctx.exchange.sendWithoutBody(response.status, head.headers, head.contentLength, relayed);
  } else {
    ctx.exchange.sendUpstream(response.status, head.headers, response.body, relayed);
  }
}
