/**
 * The request pipeline of a gateway thread: named phases run in this order for every request.
 *
 *  1. capture   (sync)  `RequestContext`: copy method, raw path, raw query, headers and peer address
 *                       out of uWS, register the abort handler and (if there is a body) the body
 *                       reader, pin the policy snapshot.
 *  2. route     (sync)  the router's decision; CONNECT, OPTIONS, info, redirects and unsupported API versions
 *                       are answered here, without a policy; so is internal REST auth (async, its
 *                       own answers, gateway/internal-auth/). None of these runs a hook.
 *  3. policy    (sync)  no snapshot yet → 503 (fail closed, as matrix-corporal); then the
 *                       route's policy check is looked up once, and a body Synapse would read as
 *                       arguments (a form: a second token) is refused 415 (form-arguments.ts).
 *  4. identity  (sync on a cache hit, async on a miss) credentials → identity; a bad token is
 *                       proxied and Synapse rejects it, but a failed look-up fails closed where
 *                       Corporal acts on the user (UIA routes, authenticated hooks). A managed
 *                       user inactive in the policy is refused 401 `M_USER_LOCKED` here, as
 *                       Synapse will once the reconciler has locked the account.
 *  5. before-hooks      (gateway/hooks/hook-phase.ts; sync when no hook can fire) the event types
 *                       of the handler kind (hooks/hook-events.ts, reference §7.2): login
 *                       beforeAny → beforeUnauthenticated; a policy-checked route beforeAny →
 *                       beforeAuthenticated → beforeAuthenticatedPolicyChecked with a user, only
 *                       beforeAny without; any other route beforeAny → beforeAuthenticated |
 *                       beforeUnauthenticated. Identity is already known (matrix-corporal ran a
 *                       policy-checked route's beforeAny before resolving the token: quirk 11,
 *                       fixed). A hook may answer (the request ends), or change the body (then
 *                       sent as `ctx.bufferedBody`) and headers (`ctx.headers`).
 *  6. policy check      (checks/check-phase.ts) policy-checked routes only: token rules, the body
 *                       when the check reads it (bounded; `ctx.bufferedBody`), the check. With a
 *                       user the token rules always pass, so running all three before types first
 *                       is matrix-corporal's order (beforeAny → token check → the other two).
 *  7. after-hooks       (hook-phase.ts) scheduled: afterAny → afterAuthenticated(PolicyChecked)
 *                       | afterUnauthenticated, as for the before types. When some may run,
 *                       `ctx.responseBuffer` makes the proxy hand over the whole response and
 *                       `Accept-Encoding` is not forwarded. A request answered or denied earlier
 *                       runs no after-hook.
 *  8. authenticate      (async for login and UIA routes) login interception and UIA password
 *                       stages (gateway/login/, gateway/uia/), on the body as hooks left it. Login
 *                       chains its answer check in front of the after-hooks' `ctx.responseBuffer`
 *                       (registered in 7, before this phase): a refused login runs no after-hook.
 *  9. proxy     `ProxyExchange`: streams to and from the homeserver (upstream/); or, with after-hooks,
 *                       buffers the response for them. A `createRoom` or upgrade by a user the policy
 *                       forbids unencrypted rooms first reads the user's joined rooms
 *                       (checks/half-created-rooms.ts).
 * 10. upstream response headers → `upstreamResponded` (logout evictions; a place for metrics).
 * 11. finish    when the exchange settles: one access-log line (access-log.ts); a watched
 *                       `createRoom` that did not succeed has its half-created room encrypted.
 *
 * Phases are methods taking the request context; async ones resume through a small continuation
 * and check `ctx.exchange.isOpen` first (the client may have left meanwhile). Nothing is built per
 * request beyond the context, the upstream exchange and their buffers; a request no hook can fire
 * for (most of them) allocates nothing for hooks and streams.
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
import { describeError } from '../common/errors.js';
import { CORS_HEADERS } from './respond.js';
import { MAX_REQUEST_TARGET_LENGTH, routeRequest, type RouteDecision } from './router/index.js';
import { HeaderCollector, RequestContext, type RequestFinishedListener } from './request-context.js';
import { extractCredentials, masquerades } from './identity/credentials.js';
import { WHOAMI_TIMED_OUT } from './identity/whoami.js';
import { IDENTITY_LOOKUPS_BUSY } from './identity/identity-cache.js';
import { CLIENT_TRIGGERED_LOG_INTERVAL_MS, LogThrottle, warnThrottled } from '../common/log-throttle.js';
import { describeCause } from './upstream/upstream-errors.js';
import { knownIdentity, logoutEviction, lookUpIdentity, type LogoutEviction } from './identity/resolve.js';
import type { TrustedProxies } from './upstream/forwarded-for.js';
import { countedClientKey } from './login/check-origin.js';
import { createMainPoolShare } from './upstream/main-pool-share.js';
import { ClientBufferShares } from './client-buffer-shares.js';
import { ProxyExchange, type ProxySettings, type UpstreamResponseObserver } from './upstream/proxy-exchange.js';
import { answerError } from './answer-error.js';
import { inspectedBody } from './inspected-body.js';
import { tooLarge } from './body.js';
import { DELAYED_EVENT_MAX_BODY_BYTES, schedulesDelayedEventFromBody } from './checks/delayed-events.js';
import { CheckPhase, sendDenial, type CheckPhaseDeps } from './checks/check-phase.js';
import type { GatewayAuthPhases } from './login/gateway-auth.js';
import type { PhaseContinuation } from './phase-continuation.js';
import { HookPhase, type HookPhaseDeps } from './hooks/hook-phase.js';
import { CATCH_ALL_AUTHENTICATED, hookPhasesOf, type HookPhases } from './hooks/hook-events.js';
import { UIA_ROUTE_IDS } from './uia/uia-decision.js';
import { hooksDiffer } from './hooks/hooks-fingerprint.js';
import { identityRefusal } from './identity/inactive-in-policy.js';
import { isFormPage, mayCarryFormArguments } from './form-arguments.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import type { BufferBudget } from '../common/buffer-budget.js';
import type { RequestLimits } from './request-context.js';
import { REFERENCE_POLICED_ROUTES, type HalfCreatedRoomGuard } from './checks/index.js';

/** matrix-corporal's answer on its health/info route (`INFO_PATH` in router/). */
export const INFO_TEXT = 'Matrix Client-Server API protected by Matrix Corporal';

/** What the pipeline needs; built by the thread's composition root. */
export interface PipelineDeps {
  policy: PolicyHolder;
  identities: IdentityCache;
  pools: UpstreamPools;
  timeouts: ProxyTimeoutConfig;
  /** Whose `X-Forwarded-For` is believed (`HttpGateway.TrustedProxies`). */
  trustedProxies: TrustedProxies;
  /** `HttpGateway.UpstreamConnections`: the main pool's cap, of which one requester gets 1/8 (upstream/main-pool-share.ts; absent: no share). */
  mainPoolConnections?: number;
  logger: Logger;
  /** Told of every finished request (the request metrics, and the access log when `HttpGateway.AccessLog` is on). */
  finished: RequestFinishedListener | null;
  /** Tells every other gateway thread to drop tokens (the local cache is already updated). */
  publishEviction(eviction: LogoutEviction): void;
  /** The policy-check phase's settings and look-ups (checks/check-phase.ts). */
  checks: CheckPhaseDeps;
  /** Repairs what a failed `createRoom` of a user restricted to encrypted rooms leaves (checks/half-created-rooms.ts). */
  halfCreatedRooms: HalfCreatedRoomGuard;
  /** Login interception, UIA password stages and internal REST auth (gateway/login/gateway-auth.ts). */
  auth: GatewayAuthPhases;
  /** The thread's hook engine and body bound (gateway/hooks/). */
  hooks: HookPhaseDeps;
  /** What the thread's requests may hold in buffered bodies together (`HttpGateway.MaxBufferedBytesPerThread`). */
  bufferBudget: BufferBudget;
}

/** Builds the request handler of a gateway thread. */
export function createPipeline(deps: PipelineDeps): ExchangeHandler {
  const pipeline = new Pipeline(deps);
  return (exchange, req) => pipeline.handle(exchange, req);
}

/** See the module comment for the phase order. */
export class Pipeline implements UpstreamResponseObserver {
  private readonly headerCollector = new HeaderCollector();
  private readonly lookupFailedLog = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);
  private readonly creationWatchLog = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);
  private readonly limits: RequestLimits;
  private readonly proxySettings: ProxySettings;
  private readonly checks: CheckPhase;
  private readonly hooks: HookPhase;
  /** How the auth phases continue: into the proxy, or into the error mapping. */
  private readonly afterAuth: PhaseContinuation;

  constructor(private readonly deps: PipelineDeps) {
    this.limits = { budget: deps.bufferBudget, exchangeMs: deps.timeouts.exchangeMs, clientShares: new ClientBufferShares(deps.bufferBudget.limitBytes, deps.checks.maxBodyBytes, deps.trustedProxies) };
    this.checks = new CheckPhase(deps.checks, {
      allowed: (ctx) => this.checkAllowed(ctx),
      denied: (ctx, decision) => sendDenial(ctx.exchange, decision),
      failed: (ctx, err) => answerError(ctx, err, deps.logger),
    });
    this.hooks = new HookPhase(deps.hooks, {
      beforePassed: (ctx) => this.beforeHooksPassed(ctx),
      afterScheduled: (ctx) => this.authenticate(ctx),
      failed: (ctx, err) => answerError(ctx, err, deps.logger),
    });
    this.proxySettings = {
      pools: deps.pools,
      timeouts: deps.timeouts,
      trustedProxies: deps.trustedProxies,
      observer: this,
      logger: deps.logger,
      failureLog: new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS),
      answerError: (ctx, err) => answerError(ctx, err, deps.logger),
      hooksChangedFor: (ctx) => this.hooksChangedFor(ctx),
      ...(deps.mainPoolConnections === undefined ? {} : { mainPoolShare: createMainPoolShare(deps.mainPoolConnections, deps.trustedProxies) }),
    };
    this.afterAuth = {
      proceed: (ctx) => this.proxy(ctx),
      fail: (ctx, err) => answerError(ctx, err, deps.logger),
    };
  }

  /** Entry point: the uWS request callback (synchronous part). */
  handle(exchange: ClientExchange, req: HttpRequest): void {
    const ctx = new RequestContext(exchange, req, this.deps.policy, this.headerCollector, this.deps.finished, this.limits);
    try {
      if (!this.route(ctx, routeRequest(ctx.method, ctx.rawPath, ctx.rawQuery))) return;
      if (!this.requirePolicy(ctx)) return;
      ctx.check = this.checks.checkFor(ctx) ?? null;
      if (!this.refuseFormArguments(ctx)) return;
      this.identify(ctx);
    } catch (err) {
      answerError(ctx, err, this.deps.logger);
    }
  }

  /**
   * Phase 2. Answers locally and returns false, or records the route and returns true. Internal
   * REST auth is the one local answer given later: its phase reads the body and answers itself.
   */
  private route(ctx: RequestContext, decision: RouteDecision): boolean {
    const exchange = ctx.exchange;
    switch (decision.kind) {
      case 'target-too-long':
        ctx.routeId = decision.kind;
        exchange.sendMatrixError(414, ErrCode.TooLarge, `Request target (path and query) longer than ${MAX_REQUEST_TARGET_LENGTH} characters`);
        return false;
      case 'connect':
        ctx.routeId = decision.kind;
        exchange.sendMatrixError(405, ErrCode.Unrecognized, 'Unrecognized request');
        return false;
      case 'options':
        ctx.routeId = decision.kind;
        exchange.send(200, CORS_HEADERS, '');
        return false;
      case 'info':
        ctx.routeId = decision.kind;
        exchange.sendText(200, INFO_TEXT);
        return false;
      case 'redirect':
        ctx.routeId = decision.kind;
        exchange.send(301, [['Location', decision.location], ...CORS_HEADERS], '');
        return false;
      case 'unsupported-version':
        ctx.routeId = decision.kind;
        exchange.sendMatrixError(403, ErrCode.Forbidden, 'API version not supported by gateway');
        return false;
      case 'internal-rest-auth':
        // Answered here, before the policy requirement: no hooks, no token, and a missing policy
        // is the endpoint's own 500 (reference §6.8).
        ctx.routeId = decision.kind;
        this.deps.auth.internalAuth.run(ctx, this.afterAuth.fail);
        return false;
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

  /**
   * Phase 3b: a body Synapse would read as arguments (form-encoded, form-arguments.ts) could carry
   * another access token or appservice `user_id` than the one the gateway resolves, so Synapse
   * would act as a user the policy was never checked for — on the admin API, an appservice
   * `user_id` naming the corporal user makes it the homeserver's admin (quality review 17). Refused
   * (415) on every path but Synapse's own form pages (form-arguments.ts: SSO, consent, the UIA
   * fallback), which read no token from their arguments: a form there cannot make Synapse act as
   * anyone, hooks or not. Returns false when refused.
   */
  private refuseFormArguments(ctx: RequestContext): boolean {
    if (!mayCarryFormArguments(ctx.method, ctx.body !== null, ctx.headers)) return true;
    if (isFormPage(ctx.rawPath)) return true;
    ctx.exchange.sendMatrixError(415, ErrCode.Unrecognized, 'Form-encoded request bodies are not accepted: send JSON with Content-Type: application/json');
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
    // Only tokens need a look-up; anything else here is a bug, answered 500 by `handle`.
    if (credentials.kind !== 'token') throw new Error(`no cached identity for credentials of kind ${credentials.kind}`);
    // The context reports its client leaving to the look-up (ClientGoneHook).
    // Counted against the client's address (an IPv6 /64), so that one client cannot take every look-up place.
    const client = countedClientKey(ctx.headers, ctx.remoteAddress, this.deps.trustedProxies);
    lookUpIdentity(this.deps.identities, credentials.token, credentials.masqueradeAs, ctx, client).then(
      (identity) => this.resumeIdentified(ctx, identity),
      (err: unknown) => answerError(ctx, err, this.deps.logger),
    );
  }

  private resumeIdentified(ctx: RequestContext, identity: Identity): void {
    ctx.identity = identity;
    if (!ctx.exchange.isOpen) return;
    if (identity.kind === 'unresolved' && identity.error.code !== IDENTITY_LOOKUPS_BUSY && identity.error.source !== 'client') {
      // What the client is told names nothing of the homeserver; the cause is the operator's. The
      // busy refusal has a warning of its own (thread.ts), and a token too long to ask about is the
      // client's own error. Any client can cause these: throttled.
      warnThrottled(this.lookupFailedLog, this.deps.logger, { code: identity.error.code, cause: describeCause(identity.error) }, 'token look-up failed');
    }
    try {
      this.identified(ctx);
    } catch (err) {
      answerError(ctx, err, this.deps.logger);
    }
  }

  /** After identity: the before-hooks (phase 5). */
  private identified(ctx: RequestContext): void {
    // A managed user the policy marks inactive is refused as Synapse refuses a locked account,
    // without waiting for the reconciler to lock it (identity/inactive-in-policy.ts).
    const refusal = identityRefusal(ctx.snapshot as PolicySnapshot, ctx.identity, masquerades(ctx.credentials), ctx.routeId, ctx.rawPath, this.deps.checks.corporalUserId);
    if (refusal !== null) {
      ctx.exchange.sendMatrixError(refusal.status, refusal.errcode, refusal.message);
      return;
    }
    // A failed look-up (whoami timed out or failed): Synapse would most likely still run the
    // request as the token's user, so where Corporal acts on that user the request is refused with
    // the look-up's error (fail closed; policy-checked routes refuse in their own phase). A look-up
    // that timed out is answered (504) on every route but login, which does not use the identity:
    // Synapse has just failed to answer within Matrix.TimeoutMilliseconds, and proxying would make
    // the client wait that long once more.
    if (ctx.identity.kind === 'unresolved' && (this.lookUpTimedOut(ctx) || this.catchAllActsOnUser(ctx))) {
      answerError(ctx, ctx.identity.error, this.deps.logger);
      return;
    }
    this.hooks.before(ctx, this.hookPhasesOf(ctx));
  }

  /** The request's token look-up timed out, and the request is not a login (which ignores the identity). */
  private lookUpTimedOut(ctx: RequestContext): boolean {
    return ctx.identity.kind === 'unresolved' && ctx.identity.error.code === WHOAMI_TIMED_OUT && ctx.routeId !== 'login';
  }

  /**
   * Whether Corporal would treat this catch-all request differently if it knew the token's user:
   * a UIA route (a managed user's typed policy password is verified and replaced, never forwarded)
   * or an authenticated hook that may fire for it. Policy-checked routes and login are not
   * catch-all requests (and login does not look at the token).
   */
  private catchAllActsOnUser(ctx: RequestContext): boolean {
    if (ctx.route === null || ctx.check !== null || ctx.routeId === 'login') return false;
    if (UIA_ROUTE_IDS.has(ctx.route.id)) return true;
    return this.deps.hooks.engine.mayFire(ctx.snapshot as PolicySnapshot, CATCH_ALL_AUTHENTICATED, ctx.method);
  }

  /**
   * The hook event types of the request: by handler kind (login, policy-checked route, any other
   * route) and whether the token resolved to a user. A request without a user on a route that
   * matrix-corporal did not police is, to hooks, the catch-all request it was there: its
   * `*UnauthenticatedRequest` hooks fire (an operator's hook that closes `POST /register` must
   * keep working; parity review 18, P1).
   */
  private hookPhasesOf(ctx: RequestContext): HookPhases {
    const authenticated = ctx.identity.kind === 'user';
    if (ctx.routeId === 'login') return hookPhasesOf('login', authenticated);
    const policyChecked = ctx.check !== null && (authenticated || (ctx.route !== null && REFERENCE_POLICED_ROUTES.has(ctx.route.id)));
    return hookPhasesOf(policyChecked ? 'policy-checked' : 'catch-all', authenticated);
  }

  /** The before-hooks let the request through: the policy-check phase (6), or the after-hooks. */
  private beforeHooksPassed(ctx: RequestContext): void {
    // ════ policy-check phase (src/gateway/checks/, docs/firewall.md) ════
    const check = ctx.check;
    if (check === null) {
      this.hooks.after(ctx, this.hookPhasesOf(ctx));
      return;
    }
    const denial = this.checks.tokenDenial(ctx, check);
    if (denial !== null) {
      sendDenial(ctx.exchange, denial);
      return;
    }
    this.checks.run(ctx, check); // → checkAllowed, or a denial / error answered by the phase
    // ════ end of the policy-check phase ════
  }

  /** A policy-checked request passed its check: schedule its after-hooks (phase 7). */
  private checkAllowed(ctx: RequestContext): void {
    this.hooks.after(ctx, this.hookPhasesOf(ctx));
  }

  /**
   * Phase 8. ════ authentication phase (src/gateway/login/, src/gateway/uia/, docs/login.md) ════
   * Login interception and UIA password stages: after before-hooks and policy checks (and after
   * after-hooks registered their response buffer, which login chains behind its own answer check),
   * so they act on the body as hooks left it and only on allowed requests. Either takes the request
   * over (and proxies it itself once done), or it goes straight on to the proxy.
   */
  private authenticate(ctx: RequestContext): void {
    if (ctx.routeId === 'login') {
      this.deps.auth.login.run(ctx, this.afterAuth);
      return;
    }
    if (this.deps.auth.uia.run(ctx, this.afterAuth)) return;
    this.proxy(ctx);
  }

  /** Phase 9: hand the request to the homeserver. */
  private proxy(ctx: RequestContext): void {
    if (schedulesDelayedEventFromBody(ctx.routeId, ctx.method, ctx.rawQuery)) {
      this.boundDelayedEventBody(ctx);
      return;
    }
    this.proxyBounded(ctx);
  }

  /**
   * A request that schedules a delayed event: its body is read (or taken as a check or hook left
   * it) within {@link DELAYED_EVENT_MAX_BODY_BYTES}, else 413 (red team 23, F1). Synapse stores the
   * event only once the body is complete, and the client chooses when that is: a sender the policy
   * made inactive meanwhile is refused then, as in the identity phase, or the event could be stored
   * after the reconciler listed the sender's delayed events to cancel them, and be sent after the
   * lock (red team 23, F2).
   */
  private boundDelayedEventBody(ctx: RequestContext): void {
    if (ctx.bufferedBody !== null) {
      if (ctx.bufferedBody.length > DELAYED_EVENT_MAX_BODY_BYTES) answerError(ctx, tooLarge(DELAYED_EVENT_MAX_BODY_BYTES), this.deps.logger);
      else this.proxyDelayedEvent(ctx);
      return;
    }
    inspectedBody(ctx, DELAYED_EVENT_MAX_BODY_BYTES).then(
      () => {
        if (!ctx.exchange.isOpen) return;
        try {
          this.proxyDelayedEvent(ctx);
        } catch (err) {
          answerError(ctx, err, this.deps.logger);
        }
      },
      (err: unknown) => {
        if (ctx.exchange.isOpen) answerError(ctx, err, this.deps.logger);
      },
    );
  }

  /**
   * A delayed event's complete body is in: its sender is checked against the newest policy, then it
   * goes on. A request a phase decided on the policy is left as it is: the proxy does not send it
   * once a newer policy is out (`decisionStillStands`), and re-pinning here would hide that. Any
   * other is now decided on the policy as well: with its body buffered it can wait for a connection
   * of the capped pool, and a sender a newer policy made inactive meanwhile must not reach Synapse
   * then (upstream/proxy-exchange.ts answers it 503).
   */
  private proxyDelayedEvent(ctx: RequestContext): void {
    if (!ctx.decidedOnPolicy) {
      const corporal = this.deps.checks.corporalUserId;
      if (ctx.refreshSnapshot()) {
        const refusal = identityRefusal(ctx.snapshot as PolicySnapshot, ctx.identity, masquerades(ctx.credentials), ctx.routeId, ctx.rawPath, corporal);
        if (refusal !== null) {
          ctx.exchange.sendMatrixError(refusal.status, refusal.errcode, refusal.message);
          return;
        }
      }
      ctx.decidedOnPolicy = true;
      ctx.decisionHoldsUnder = (newest) => identityRefusal(newest, ctx.identity, masquerades(ctx.credentials), ctx.routeId, ctx.rawPath, corporal) === null;
    }
    this.proxyBounded(ctx);
  }

  private proxyBounded(ctx: RequestContext): void {
    if (this.needsCreationWatch(ctx)) {
      this.watchCreation(ctx);
      return;
    }
    this.forward(ctx);
  }

  private forward(ctx: RequestContext): void {
    const proxy = new ProxyExchange(ctx, this.proxySettings);
    ctx.proxy = proxy;
    proxy.start();
  }

  /**
   * A request that creates a room and whose failure could leave one the policy forbids
   * (checks/half-created-rooms.ts): `createRoom`, and an upgrade (Synapse builds the replacement
   * room the same way).
   */
  private needsCreationWatch(ctx: RequestContext): boolean {
    return (ctx.routeId === 'room.create' || ctx.routeId === 'room.upgrade') && ctx.identity.kind === 'user' && ctx.credentials.kind === 'token'
      && this.deps.halfCreatedRooms.applies(ctx.snapshot as PolicySnapshot, ctx.identity.userId);
  }

  /**
   * Reads the user's joined rooms, then forwards. When they cannot be read the request is refused
   * (503): without them, a room left behind by a failure could not be found.
   */
  private watchCreation(ctx: RequestContext): void {
    const { identity, credentials } = ctx;
    if (identity.kind !== 'user' || credentials.kind !== 'token') return;
    const userId = identity.userId;
    // An appservice token acts as the masqueraded user: so must the repair's calls.
    const masqueradeAs = credentials.masqueradeAs === null ? null : userId;
    this.deps.halfCreatedRooms.watch({ accessToken: credentials.token, masqueradeAs }, userId, ctx.signal).then(
      (watch) => {
        if (!ctx.exchange.isOpen) return;
        ctx.creationWatch = watch;
        try {
          this.forward(ctx);
        } catch (err) {
          answerError(ctx, err, this.deps.logger);
        }
      },
      (err: unknown) => {
        if (!ctx.exchange.isOpen) return; // the client left (and the read was cut for it): nothing failed
        warnThrottled(this.creationWatchLog, this.deps.logger, { userId, err: describeError(err) },
          'cannot read the joined rooms of a user restricted to encrypted rooms; their room creation is refused');
        ctx.exchange.sendMatrixError(503, ErrCode.Unknown, 'Cannot check this room creation now; try again later');
      },
    );
  }

  /**
   * Whether the thread's newest policy has before-hooks that differ from the ones that ran for the
   * request (they run once, at its start) and may fire for it: then the request must not reach
   * the homeserver (upstream/proxy-exchange.ts asks when it is about to be written, and again
   * before a streamed body's last byte).
   */
  private hooksChangedFor(ctx: RequestContext): boolean {
    const newest = this.deps.policy.current;
    const ran = ctx.beforeHooksSnapshot ?? ctx.snapshot;
    if (newest === null || ran === null || newest === ran || !hooksDiffer(ran, newest)) return false;
    return this.deps.hooks.engine.mayFire(newest, this.hookPhasesOf(ctx), ctx.method);
  }

  /** Phase 10 (UpstreamResponseObserver): upstream headers arrived. */
  upstreamResponded(ctx: RequestContext, status: number): void {
    const eviction = logoutEviction(ctx.routeId, status, ctx.credentials, ctx.identity);
    if (eviction === null) return;
    this.deps.identities.evict(eviction.tokens, eviction.userId);
    this.deps.publishEviction(eviction);
  }
}
