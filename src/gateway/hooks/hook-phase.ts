/**
 * The hook phases of the pipeline (pipeline.ts): the before-hooks of a request, and the scheduling
 * of its after-hooks on the upstream response. The engine (hook-engine.ts) decides; this module
 * moves the request's body, headers and response between the engine and the request context.
 */
import type { RequestContext } from '../request-context.js';
import type { BufferedResult, ResponseBufferRequest } from '../upstream/proxy-exchange.js';
import { sendBufferedResponse } from '../upstream/proxy-exchange.js';
import { inspectedBody } from '../inspected-body.js';
import { userIdOf } from '../identity/identity.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import type { AfterPlan } from './after-plan.js';
import { CONTINUE, type BeforeOutcome, type HookEngine } from './hook-engine.js';
import { LOGIN, type HookPhases } from './hook-events.js';
import { HookRequest } from './hook-request.js';
import { forwardedForOf, type TrustedProxies } from '../upstream/forwarded-for.js';

/** What the phase needs; built once per gateway thread. */
export interface HookPhaseDeps {
  engine: HookEngine;
  /** `HttpGateway.MaxInspectedBodyBytes`: bounds a body a hook reads, and a response after-hooks hold. */
  maxBodyBytes: number;
  /** Whose `X-Forwarded-For` is believed (`HttpGateway.TrustedProxies`): hook services see the verified chain. */
  trustedProxies: TrustedProxies;
}

/** How the phase hands a request back to the pipeline. */
export interface HookPhaseOutcomes {
  /** The before-hooks let the request through (possibly changed): the next phase. */
  beforePassed(ctx: RequestContext): void;
  /** The after-hooks are scheduled (or there are none): the next phase. */
  afterScheduled(ctx: RequestContext): void;
  /** Reading the body failed (413, client gone), the upstream exchange failed, or a bug: answer it. */
  failed(ctx: RequestContext, err: unknown): void;
}

/**
 * See the module comment. Per request, nothing is allocated unless a hook of the request's event
 * types can fire for its method ({@link HookEngine.mayFire}); otherwise both phases continue
 * synchronously, `ctx.hooks` stays null and the response streams.
 */
export class HookPhase {
  constructor(
    private readonly deps: HookPhaseDeps,
    private readonly outcomes: HookPhaseOutcomes,
  ) {}

  /**
   * Runs the before-hooks of `phases` (in order) and continues with `beforePassed`, unless a hook
   * answered (`reject`, `respond`, or the 503 of a hook that failed): that answer ends the request.
   * A changed body goes upstream as `ctx.bufferedBody`, changed headers as `ctx.headers`; a body
   * a hook only read is kept in `ctx.bufferedBody` as well (it cannot be streamed any more).
   */
  before(ctx: RequestContext, phases: HookPhases): void {
    const snapshot = ctx.snapshot as PolicySnapshot;
    ctx.beforeHooksSnapshot = snapshot;
    const { engine } = this.deps;
    if (!engine.mayFire(snapshot, phases, ctx.method)) {
      this.outcomes.beforePassed(ctx);
      return;
    }
    const request = new HookRequest({
      method: ctx.method,
      rawPath: ctx.rawPath,
      rawQuery: ctx.rawQuery,
      // Login is unauthenticated by definition (its token, if any, is not looked at there).
      userId: phases === LOGIN ? null : userIdOf(ctx.identity),
      headers: ctx.headers,
      forwardedFor: (headers) => forwardedForOf(headers, ctx.remoteAddress, this.deps.trustedProxies),
      peerTrusted: this.deps.trustedProxies.isTrusted(ctx.remoteAddress),
      readBody: ctx.body === null ? null : () => inspectedBody(ctx, this.deps.maxBodyBytes),
      abandonAt: ctx.exchangeDeadline(),
    });
    ctx.hooks = request;
    const outcome = engine.runBefore(snapshot, phases.before, request);
    if (outcome === CONTINUE) {
      this.outcomes.beforePassed(ctx);
      return;
    }
    Promise.resolve(outcome)
      .then((settled) => {
        if (ctx.exchange.isOpen) this.beforeSettled(ctx, request, settled);
      })
      .catch((err: unknown) => this.outcomes.failed(ctx, err));
  }

  private beforeSettled(ctx: RequestContext, request: HookRequest, outcome: BeforeOutcome): void {
    if (outcome.kind === 'respond') {
      ctx.exchange.send(outcome.status, outcome.headers, outcome.body);
      return;
    }
    if (request.bodyChanged) ctx.bufferedBody = request.loadedBody;
    if (request.headersChanged) ctx.headers = request.headers;
    this.outcomes.beforePassed(ctx);
  }

  /**
   * Schedules the after-hooks of `phases` (matched now, before proxying) and continues with
   * `afterScheduled`. When some may run, the proxy is asked to hold the response
   * (`ctx.responseBuffer`) and `Accept-Encoding` is not forwarded, so that hooks see (and the
   * REST payload carries) a body Synapse did not compress. Must run before the authentication
   * phase: login chains its answer check in front of this response buffer.
   */
  after(ctx: RequestContext, phases: HookPhases): void {
    const request = ctx.hooks;
    const plan = request === null ? null : this.deps.engine.scheduleAfter(ctx.snapshot as PolicySnapshot, phases.after, request);
    if (plan === null) {
      this.outcomes.afterScheduled(ctx);
      return;
    }
    ctx.responseBuffer = new AfterHooksResponse(plan, this.deps.maxBodyBytes, this.outcomes);
    ctx.headers = withoutHeader(ctx.headers, 'accept-encoding');
    const prepared = plan.prepare();
    if (prepared === null) {
      this.outcomes.afterScheduled(ctx);
      return;
    }
    prepared
      .then(() => {
        if (ctx.exchange.isOpen) this.outcomes.afterScheduled(ctx);
      })
      .catch((err: unknown) => this.outcomes.failed(ctx, err));
  }
}

/**
 * The proxy hands the whole upstream response here instead of streaming it; the after-hooks run
 * on it and what they leave is sent. A response larger than the bound, or an upstream failure,
 * is answered as the proxy would (502/504): after-hooks never let a response through unchecked.
 */
class AfterHooksResponse implements ResponseBufferRequest {
  constructor(
    private readonly plan: AfterPlan,
    readonly limitBytes: number,
    private readonly outcomes: HookPhaseOutcomes,
  ) {}

  onResponse(ctx: RequestContext, result: BufferedResult): void {
    if (!result.ok) {
      this.outcomes.failed(ctx, result.error);
      return;
    }
    this.plan.apply(result.response)
      .then((response) => {
        if (ctx.exchange.isOpen) sendBufferedResponse(ctx, response);
      })
      .catch((err: unknown) => this.outcomes.failed(ctx, err));
  }
}

/** `headers` without any `name` line (lower-case); the same array when there is none. */
function withoutHeader(headers: readonly string[], name: string): readonly string[] {
  if (!headers.includes(name)) return headers;
  const kept: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i] !== name) kept.push(headers[i]!, headers[i + 1]!);
  }
  return kept;
}
