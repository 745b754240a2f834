/**
 * The request pipeline of a gateway thread: named phases run in this order for every request.
 *
 *  1. capture   (sync)  `RequestContext`: copy method, raw path, raw query, headers and peer address
 *                       out of uWS, register the abort handler and (if there is a body) the body
 *                       reader, pin the policy snapshot.
 *  2. route     (sync)  the router's decision; OPTIONS, info, redirects and unsupported API versions
 *                       are answered here, without a policy.
 *  3. policy    (sync)  no snapshot yet → 503 (fail closed, as matrix-corporal).
 *  4. identity  (sync on a cache hit, async on a miss) credentials → identity; never blocks a
 *                       request: a bad token is proxied and Synapse rejects it.
 *     ── before-hooks go here (they see ctx.identity; a hook may answer or change the request) ──
 *     ── policy checks and login interception go here: pure decisions on ctx.route/ctx.identity;
 *        one that needs the body reads it with `readBody(ctx.body, max)` (body.ts) and stores it in
 *        `ctx.bufferedBody`, which is then sent upstream instead of the stream; a denial is a
 *        `CorporalError` passed to `answerError` ──
 *     ── after-hooks register here: `ctx.responseBuffer` makes the proxy hand over the response ──
 *  5. proxy     `ProxyExchange`: streams to and from the homeserver (upstream/).
 *  6. upstream response headers → `upstreamResponded` (logout evictions; a place for metrics).
 *  7. finish    when the exchange settles: one access-log line (access-log.ts).
 *
 * Phases are methods taking the request context; async ones resume through a small continuation
 * and check `ctx.exchange.isOpen` first (the client may have left meanwhile). Nothing is built per
 * request beyond the context, the upstream exchange and their buffers.
 */
import type { ExchangeHandler } from './server.js';
import type { Logger } from '../common/logger.js';
import type { ProxyTimeoutConfig } from './upstream/timeouts.js';
import type { PolicyHolder } from './policy-holder.js';
import type { UpstreamPools } from './upstream/pools.js';
import type { IdentityCache } from './identity/identity-cache.js';
import type { Identity } from './identity/identity.js';
import type { ClientExchange } from './respond.js';
import type { HttpRequest } from '@trufflesuite/uws-js-unofficial';
import { ErrCode } from '../common/matrix-errors.js';
import { CORS_HEADERS } from './respond.js';
import { routeRequest, type RouteDecision } from './router/index.js';
import { HeaderCollector, RequestContext, type RequestFinishedListener } from './request-context.js';
import { extractCredentials } from './identity/credentials.js';
import { knownIdentity, logoutEviction, lookUpIdentity, type LogoutEviction } from './identity/resolve.js';
import { ProxyExchange, type ProxySettings, type UpstreamResponseObserver } from './upstream/proxy-exchange.js';
import { answerError } from './answer-error.js';

/** matrix-corporal's answer on its health/info route (`INFO_PATH` in router/). */
export const INFO_TEXT = 'Matrix Client-Server API protected by Matrix Corporal';

/** What the pipeline needs; built by the thread's composition root. */
export interface PipelineDeps {
  policy: PolicyHolder;
  identities: IdentityCache;
  pools: UpstreamPools;
  timeouts: ProxyTimeoutConfig;
  logger: Logger;
  /** The access log, or null when `HttpGateway.AccessLog` is off. */
  accessLog: RequestFinishedListener | null;
  /** Tells every other gateway thread to drop tokens (the local cache is already updated). */
  publishEviction(eviction: LogoutEviction): void;
}

/** Builds the request handler of a gateway thread. */
export function createPipeline(deps: PipelineDeps): ExchangeHandler {
  const pipeline = new Pipeline(deps);
  return (exchange, req) => pipeline.handle(exchange, req);
}

/** See the module comment for the phase order. */
export class Pipeline implements UpstreamResponseObserver {
  private readonly headerCollector = new HeaderCollector();
  private readonly proxySettings: ProxySettings;

  constructor(private readonly deps: PipelineDeps) {
    this.proxySettings = {
      pools: deps.pools,
      timeouts: deps.timeouts,
      observer: this,
      logger: deps.logger,
      answerError: (ctx, err) => answerError(ctx, err, deps.logger),
    };
  }

  /** Entry point: the uWS request callback (synchronous part). */
  handle(exchange: ClientExchange, req: HttpRequest): void {
    const ctx = new RequestContext(exchange, req, this.deps.policy.current, this.headerCollector, this.deps.accessLog);
    try {
      if (!this.route(ctx, routeRequest(ctx.method, ctx.rawPath, ctx.rawQuery))) return;
      if (!this.requirePolicy(ctx)) return;
      this.identify(ctx);
    } catch (err) {
      answerError(ctx, err, this.deps.logger);
    }
  }

  /** Phase 2. Answers locally and returns false, or records the route and returns true. */
  private route(ctx: RequestContext, decision: RouteDecision): boolean {
    const exchange = ctx.exchange;
    switch (decision.kind) {
      case 'options':
        ctx.routeId = 'options';
        exchange.send(200, CORS_HEADERS, '');
        return false;
      case 'info':
        ctx.routeId = 'info';
        exchange.sendText(200, INFO_TEXT);
        return false;
      case 'redirect':
        ctx.routeId = 'redirect';
        exchange.send(301, [['Location', decision.location], ...CORS_HEADERS], '');
        return false;
      case 'unsupported-version':
        ctx.routeId = 'unsupported-version';
        exchange.sendMatrixError(403, ErrCode.Forbidden, 'API version not supported by gateway');
        return false;
      case 'internal-rest-auth':
        // Answered by the firewall work (login interception, REST auth); until then proxied.
        ctx.routeId = 'internal-rest-auth';
        return true;
      case 'route':
        ctx.route = decision.match;
        ctx.routeId = decision.match.id;
        return true;
    }
  }

  /** Phase 3: no policy yet → 503 (fail closed). */
  private requirePolicy(ctx: RequestContext): boolean {
    if (ctx.snapshot !== null) return true;
    ctx.exchange.sendMatrixError(503, ErrCode.Unknown, 'Policy does not exist (yet), cannot proceed');
    return false;
  }

  /** Phase 4: credentials → identity; synchronous on a cache hit. */
  private identify(ctx: RequestContext): void {
    const credentials = extractCredentials(ctx.headerValues('authorization'), ctx.rawQuery);
    ctx.credentials = credentials;
    const known = knownIdentity(this.deps.identities, credentials);
    if (known !== null) {
      ctx.identity = known;
      this.identified(ctx);
      return;
    }
    if (credentials.kind !== 'token') return; // unreachable: only tokens need a look-up
    lookUpIdentity(this.deps.identities, credentials.token, credentials.masqueradeAs).then(
      (identity) => this.resumeIdentified(ctx, identity),
      (err: unknown) => answerError(ctx, err, this.deps.logger),
    );
  }

  private resumeIdentified(ctx: RequestContext, identity: Identity): void {
    ctx.identity = identity;
    if (!ctx.exchange.isOpen) return;
    try {
      this.identified(ctx);
    } catch (err) {
      answerError(ctx, err, this.deps.logger);
    }
  }

  /** After identity: (hooks and checks go here, see the module comment), then the proxy. */
  private identified(ctx: RequestContext): void {
    this.proxy(ctx);
  }

  /** Phase 5: hand the request to the homeserver. */
  private proxy(ctx: RequestContext): void {
    const proxy = new ProxyExchange(ctx, this.proxySettings);
    ctx.proxy = proxy;
    proxy.start();
  }

  /** Phase 6 (UpstreamResponseObserver): upstream headers arrived. */
  upstreamResponded(ctx: RequestContext, status: number): void {
    const eviction = logoutEviction(ctx.routeId, status, ctx.credentials, ctx.identity);
    if (eviction === null) return;
    this.deps.identities.evict(eviction.tokens, eviction.userId);
    this.deps.publishEviction(eviction);
  }
}
