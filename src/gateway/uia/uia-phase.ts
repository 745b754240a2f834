/**
 * The UIA phase of the pipeline: on the UIA route ids, a managed non-passthrough requester's
 * `m.login.password` stage is verified by Corporal and rewritten, and every other requester's is
 * pinned to the requester (see uia-decision.ts).
 */
import type { RequestContext } from '../request-context.js';
import { userIdOf } from '../identity/identity.js';
import { inspectedBody } from '../inspected-body.js';
import { checkOriginOf } from '../login/check-origin.js';
import type { TrustedProxies } from '../upstream/forwarded-for.js';
import { sendLocalAnswer } from '../login/local-answer.js';
import type { PhaseContinuation } from '../phase-continuation.js';
import { uiaSubject, UIA_ROUTE_IDS } from './uia-decision.js';
import { pinnedToRequester, type UiaInterceptor, type UiaOutcome } from './uia-interceptor.js';

/** What the phase needs; built once per gateway thread. */
export interface UiaPhaseOptions {
  intercept: UiaInterceptor;
  /** `HttpGateway.MaxInspectedBodyBytes`. */
  maxBodyBytes: number;
  /** `HttpGateway.TrustedProxies`: which address a password check is counted against. */
  trustedProxies: TrustedProxies;
}

/** See the module comment. */
export class UiaPhase {
  constructor(private readonly options: UiaPhaseOptions) {}

  /**
   * Takes the request over and returns true on a UIA route with a requester (its body, small on
   * these routes, is read whole); returns false without touching anything otherwise, so other
   * requests are streamed and never buffered.
   */
  run(ctx: RequestContext, next: PhaseContinuation): boolean {
    if (ctx.route === null || !UIA_ROUTE_IDS.has(ctx.route.id)) return false;
    const requesterId = userIdOf(ctx.identity);
    if (requesterId === null) return false;
    const routeId = ctx.route.id;
    inspectedBody(ctx, this.options.maxBodyBytes)
      .then((body): UiaOutcome | Promise<UiaOutcome> => {
        // Decided on the newest policy once the body is complete: a password the policy has since
        // replaced must not pass, and a requester may have come into or left Corporal's care meanwhile.
        ctx.refreshSnapshot();
        ctx.decidedOnPolicy = true;
        const user = uiaSubject(routeId, requesterId, ctx.snapshot);
        if (user === undefined) return pinnedToRequester(body, requesterId);
        return this.options.intercept(user, requesterId, body, checkOriginOf(ctx, this.options.trustedProxies));
      })
      .then((outcome) => {
        if (!ctx.exchange.isOpen) return;
        if (outcome.kind === 'respond') {
          sendLocalAnswer(ctx.exchange, outcome.answer);
          return;
        }
        if (outcome.body !== null) ctx.bufferedBody = outcome.body;
        next.proceed(ctx);
      })
      .catch((err: unknown) => next.fail(ctx, err));
    return true;
  }
}
