/**
 * The UIA phase of the pipeline: on the UIA route ids, a managed non-passthrough requester's
 * `m.login.password` stage is verified by Corporal and rewritten (see uia-decision.ts).
 */
import type { RequestContext } from '../request-context.js';
import { userIdOf } from '../identity/identity.js';
import { inspectedBody } from '../inspected-body.js';
import { checkOriginOf } from '../login/check-origin.js';
import type { TrustedProxies } from '../upstream/forwarded-for.js';
import { sendLocalAnswer } from '../login/local-answer.js';
import type { PhaseContinuation } from '../phase-continuation.js';
import { uiaSubject } from './uia-decision.js';
import { UIA_UNCHANGED, type UiaInterceptor } from './uia-interceptor.js';

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
   * Takes the request over and returns true when it is Corporal's business (a UIA route and a
   * managed non-passthrough requester); returns false without touching it otherwise, so other
   * requests are streamed and never buffered.
   */
  run(ctx: RequestContext, next: PhaseContinuation): boolean {
    if (ctx.route === null) return false;
    const requesterId = userIdOf(ctx.identity);
    const user = uiaSubject(ctx.route.id, requesterId, ctx.snapshot);
    if (user === undefined || requesterId === null) return false;
    const route = ctx.route;
    inspectedBody(ctx, this.options.maxBodyBytes)
      .then((body) => {
        // The credential checked is the newest policy's once the body is complete (a password the
        // policy has since replaced must not pass); the user may have left Corporal's care meanwhile.
        const current = ctx.refreshSnapshot() ? uiaSubject(route.id, requesterId, ctx.snapshot) : user;
        if (current === undefined) return UIA_UNCHANGED;
        ctx.decidedOnPolicy = true;
        return this.options.intercept(current, requesterId, body, checkOriginOf(ctx, this.options.trustedProxies));
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
