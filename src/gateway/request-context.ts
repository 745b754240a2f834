import type { HttpRequest } from '@trufflesuite/uws-js-unofficial';
import type { PolicySnapshot } from '../policy/snapshot.js';
import type { ClientExchange, ExchangeEvents } from './respond.js';
import { UNROUTED_ROUTE_ID, type RouteMatch } from './router/index.js';
import type { Credentials } from './identity/credentials.js';
import type { HookRequest } from './hooks/hook-request.js';
import type { PolicyCheck } from './checks/check-input.js';
import type { CreationWatch } from './checks/half-created-rooms.js';
import { NO_CREDENTIALS } from './identity/credentials.js';
import { ANONYMOUS, type Identity } from './identity/identity.js';
import { RequestBody } from './request-body.js';
import type { ProxyExchange, ResponseBufferRequest } from './upstream/proxy-exchange.js';
import { parseContentLength } from './upstream/response-headers.js';
import type { BufferBudget } from '../common/buffer-budget.js';
import type { BodyReadContext } from './body.js';
import type { ClientBufferShares } from './client-buffer-shares.js';

/** What bounds the bodies a thread's requests buffer; one object per thread. */
export interface RequestLimits {
  /** The thread's buffer budget (`HttpGateway.MaxBufferedBytesPerThread`). */
  budget: BufferBudget;
  /** `HttpGateway.TimeoutMilliseconds`: a body read for inspection must be complete within this of the read's start. */
  exchangeMs: number;
  /** Each client address's share of {@link budget}; null: none (tests). */
  clientShares?: ClientBufferShares | null;
}

/** Told when a request's exchange has ended (the access log). */
export interface RequestFinishedListener {
  /** Once per request, after everything else the end of its exchange does (status and timings final). */
  requestFinished(ctx: RequestContext): void;
}

/**
 * The reason {@link RequestContext.signal} aborts with. A shared constant: `abort()` without a
 * reason builds a DOMException with a stack trace, tens of microseconds on every request that
 * used the signal.
 */
const EXCHANGE_OVER = Object.freeze(new Error('the client left or the exchange ended'));

/** Where a request finds the thread's newest policy (the gateway's `PolicyHolder`). */
export interface PolicySource {
  readonly current: PolicySnapshot | null;
}

/**
 * Everything the gateway knows about one request, created synchronously in the uWS callback and
 * passed through every phase (see pipeline.ts). Phases add what they learn (route, identity,
 * buffered body, upstream status); nothing here refers back to uWS' request object.
 *
 * It is also the exchange's event sink: a client abort reaches the request body and the upstream
 * exchange from here, and the end of the exchange produces the access-log line.
 */
export class RequestContext implements ExchangeEvents, BodyReadContext {
  /** `performance.now()` at capture. */
  readonly startedAt: number;
  /** As sent by the client (case preserved), e.g. `GET`. */
  readonly method: string;
  /** The raw (still percent-encoded) path, as forwarded. */
  readonly rawPath: string;
  /** The raw query string without `?`, `''` when none. */
  readonly rawQuery: string;
  /**
   * Request headers as flat `[name, value, …]`: lower-case names, in order, one entry per line.
   * What is sent upstream: a before-hook that sets a header replaces the array (never mutates it),
   * and so does a phase that must drop one (`Accept-Encoding` when after-hooks read the response).
   */
  headers: readonly string[];
  /** The peer's IP address. */
  readonly remoteAddress: string;
  /**
   * The policy the request is decided on; null before the first policy arrived. Pinned at the
   * start, so that one phase's rules never change halfway through it, and moved forward only by
   * {@link refreshSnapshot}.
   */
  snapshot: PolicySnapshot | null;
  /** The request body while it is being received; null when the request has none. */
  readonly body: RequestBody | null;

  /** Stable name of what the request turned out to be (route id, or `options`, `info`, `redirect`, …), for logs. */
  routeId: string = UNROUTED_ROUTE_ID;
  /** The router's match for proxied requests. */
  route: RouteMatch | null = null;
  /** The route's policy check, once identity is known; null for a route no check applies to. */
  check: PolicyCheck | null = null;
  /** The credentials presented. */
  credentials: Credentials = NO_CREDENTIALS;
  /** Who the request acts as (see identity/identity.ts). */
  identity: Identity = ANONYMOUS;
  /** A body read by a phase (check, hook, login): sent upstream instead of streaming {@link body}. */
  bufferedBody: Buffer | null = null;
  /** The request as hooks see and change it; null when no hook can fire for it (hooks/hook-phase.ts). */
  hooks: HookRequest | null = null;
  /** Set by a phase that must see the upstream response (after-hooks) before anything is written. */
  responseBuffer: ResponseBufferRequest | null = null;
  /** The upstream exchange once proxying started. */
  proxy: ProxyExchange | null = null;
  /**
   * Path and query to forward instead of the client's (without the endpoint's base path); null:
   * as received. Set by a check that pins what Synapse must act on (a join by alias, by room id).
   */
  upstreamTarget: string | null = null;
  /**
   * A phase let the request through on what {@link snapshot} says (a policy check whose decision
   * depends on it, login interception, a UIA password check): if a newer policy arrives before the
   * request gets its upstream connection, it is not sent (upstream/proxy-exchange.ts).
   */
  decidedOnPolicy = false;
  /**
   * With {@link decidedOnPolicy}: whether the decision also holds under a newer snapshot (the phase
   * that decided knows what it depended on); null: any newer snapshot voids it.
   */
  decisionHoldsUnder: ((newest: PolicySnapshot) => boolean) | null = null;
  /**
   * The snapshot whose before-hooks were run for the request (they run once, at its start); null
   * before they ran. A newer policy with other hooks stops the request before it reaches the
   * homeserver (upstream/proxy-exchange.ts).
   */
  beforeHooksSnapshot: PolicySnapshot | null = null;
  /** Upstream response status; 0 when there was none. */
  upstreamStatus = 0;
  /** Set for a room creation (`createRoom`, upgrade) whose failure must be repaired (checks/half-created-rooms.ts). */
  creationWatch: CreationWatch | null = null;
  /** Bytes this request holds of its thread's buffer budget (given back when the exchange ends). */
  private reservedBytes = 0;
  /** The client-share key {@link reservedBytes} also count under (see `ClientBufferShares`); undefined until the first reservation. */
  private shareKey: string | null | undefined = undefined;
  /** ClientGoneHook: set while the request waits for a token look-up (identity/identity-cache.ts). */
  onClientGone: (() => void) | null = null;
  /** Behind {@link signal}; created on first use (most requests never need one). */
  private abortController: AbortController | null = null;

  /** `limits`: the thread's {@link RequestLimits}; null = no budget and no body deadline (tests). */
  constructor(
    readonly exchange: ClientExchange,
    req: HttpRequest,
    private readonly policy: PolicySource | null,
    headerCollector: HeaderCollector,
    private readonly finished: RequestFinishedListener | null,
    private readonly limits: RequestLimits | null = null,
  ) {
    this.startedAt = performance.now();
    this.method = req.getCaseSensitiveMethod();
    this.rawPath = req.getUrl();
    this.rawQuery = req.getQuery() ?? '';
    this.headers = headerCollector.collect(req);
    this.remoteAddress = exchange.remoteAddress();
    this.snapshot = policy?.current ?? null;
    exchange.headRequest = this.method === 'HEAD';
    exchange.observe(this);
    this.body = createBody(exchange, this.headers);
  }

  /**
   * Whether a decision made on {@link snapshot} ({@link decidedOnPolicy}) still stands: nothing was
   * decided, no newer policy arrived, or the deciding phase says it holds under the newest one.
   */
  decisionStillStands(): boolean {
    if (!this.decidedOnPolicy) return true;
    const current = this.policy?.current ?? null;
    if (current === null || current === this.snapshot) return true;
    return this.decisionHoldsUnder?.(current) ?? false;
  }

  /** Whether {@link snapshot} is still the thread's newest policy. */
  hasNewestSnapshot(): boolean {
    const current = this.policy?.current ?? null;
    return current === null || current === this.snapshot;
  }

  /**
   * Re-pins {@link snapshot} to the thread's newest policy; returns true when that changed it. A
   * phase whose decision waits for the whole body calls this once the body is in: the client
   * chooses when that is, and Synapse acts on the request only then, so the decision must be the
   * policy's at that moment, not at the request's start (a body trickled in across a policy change
   * would otherwise be judged by rules that no longer apply).
   */
  refreshSnapshot(): boolean {
    const current = this.policy?.current ?? null;
    if (current === null || current === this.snapshot) return false;
    this.snapshot = current;
    return true;
  }

  /** The first value of a request header (lower-case name), or null. */
  header(name: string): string | null {
    const headers = this.headers;
    for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i] === name) return headers[i + 1]!;
    return null;
  }

  /** Every value of a request header (lower-case name), in order. */
  headerValues(name: string): string[] {
    const values: string[] = [];
    const headers = this.headers;
    for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i] === name) values.push(headers[i + 1]!);
    return values;
  }

  /**
   * BufferReservation: reserves `bytes` of the thread's budget for a body this request buffers,
   * held until the exchange ends. Refused once the exchange has ended (nobody would give it back).
   */
  reserveBuffer(bytes: number): boolean {
    if (this.limits === null) return true;
    if (!this.exchange.isOpen) return false;
    const shares = this.limits.clientShares ?? null;
    if (shares !== null && this.shareKey === undefined) this.shareKey = shares.keyOf(this.headers, this.remoteAddress);
    const key = shares === null ? null : this.shareKey ?? null;
    if (key !== null && !shares!.tryTake(key, bytes)) return false;
    if (!this.limits.budget.tryTake(bytes)) {
      if (key !== null) shares!.give(key, bytes);
      return false;
    }
    this.reservedBytes += bytes;
    return true;
  }

  /**
   * When the exchange cap (`HttpGateway.TimeoutMilliseconds`) counted from the request's start
   * ends, in epoch ms; Infinity without limits. Work done for the request that cannot be cut off
   * (a hook consultation in the offload pool) stops there.
   */
  exchangeDeadline(): number {
    if (this.limits === null) return Number.POSITIVE_INFINITY;
    return Date.now() - (performance.now() - this.startedAt) + this.limits.exchangeMs;
  }

  /** BodyReadContext: how long a body read for inspection may take (the exchange cap). */
  bodyReadTimeoutMs(): number {
    return this.limits === null ? Number.POSITIVE_INFINITY : this.limits.exchangeMs;
  }

  /**
   * Aborted once nobody can receive the answer any more: the client left or the exchange ended.
   * Work done on the request's behalf off the event loop (password checks in the offload pool)
   * takes it, so that a departed client's work is dropped instead of holding a place in a shared
   * queue. Already aborted when asked for after the exchange ended.
   */
  get signal(): AbortSignal {
    if (this.abortController === null) {
      this.abortController = new AbortController();
      if (!this.exchange.isOpen) this.abortController.abort(EXCHANGE_OVER);
    }
    return this.abortController.signal;
  }

  /** ExchangeEvents: the exchange ended early (the client left, or the gateway cut the connection): nobody takes the answer. */
  exchangeAborted(): void {
    const gone = this.onClientGone;
    this.onClientGone = null;
    gone?.();
    // The proxy first: it ends the upstream request and discards the body stream quietly; the
    // body's own abort then only reaches readers that are not the proxy (a buffered read).
    this.proxy?.clientAborted();
    this.body?.abort();
    this.abortController?.abort(EXCHANGE_OVER);
  }

  /** ExchangeEvents: the client can take more response body. */
  exchangeWritable(): void {
    this.proxy?.clientWritable();
  }

  /** ExchangeEvents: a request body chunk. */
  requestData(chunk: ArrayBuffer, isLast: boolean): void {
    this.body?.data(chunk, isLast);
  }

  /**
   * ExchangeEvents: the exchange ended. `ClientExchange.settle()` calls its owner (the server's
   * in-flight set) first and this second, so the request no longer counts as in flight here.
   */
  exchangeSettled(): void {
    this.creationWatch?.exchangeSettled(this.upstreamStatus);
    if (this.reservedBytes > 0) {
      this.limits!.budget.give(this.reservedBytes);
      if (typeof this.shareKey === 'string') this.limits!.clientShares?.give(this.shareKey, this.reservedBytes);
      this.reservedBytes = 0;
    }
    this.proxy?.clientSettled();
    this.abortController?.abort(EXCHANGE_OVER);
    this.finished?.requestFinished(this);
  }
}

/**
 * Copies a uWS request's headers into a flat array. One per thread: its callback is bound once,
 * so capturing headers allocates no closure per request.
 */
export class HeaderCollector {
  private target: string[] = [];
  private readonly add = (name: string, value: string): void => {
    this.target.push(name, value);
  };

  /** The request's headers as flat `[name, value, …]` (names lower-case, as uWS gives them). */
  collect(req: HttpRequest): string[] {
    const headers: string[] = [];
    this.target = headers;
    req.forEach(this.add);
    this.target = [];
    return headers;
  }
}

/**
 * A body reader when the request has a body: a `Content-Length` above 0, or any
 * `Transfer-Encoding` (uWS has already rejected requests that carry both, and decodes chunking).
 */
function createBody(exchange: ClientExchange, headers: readonly string[]): RequestBody | null {
  let contentLength: string | null = null;
  let chunked = false;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i];
    if (name === 'content-length') contentLength ??= headers[i + 1]!;
    else if (name === 'transfer-encoding') chunked = true;
  }
  if (chunked) return new RequestBody(exchange, null);
  const length = parseContentLength(contentLength);
  return length !== null && length > 0 ? new RequestBody(exchange, length) : null;
}
