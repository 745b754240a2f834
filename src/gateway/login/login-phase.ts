/**
 * The login phase of the pipeline (route id `login`): reads the body, runs login interception,
 * and for forwarded logins vets Synapse's answer before the client sees it.
 */
import { forwardedLoginHolds, loginDecisionHolds } from './login-decision-holds.js';
import type { RequestContext } from '../request-context.js';
import type { PhaseContinuation } from '../phase-continuation.js';
import { sendBufferedResponse, type BufferedResult, type ResponseBufferRequest } from '../upstream/proxy-exchange.js';
import { inspectedBody } from '../inspected-body.js';
import type { LoginInterceptor } from './login-interceptor.js';
import { checkOriginOf } from './check-origin.js';
import type { TrustedProxies } from '../upstream/forwarded-for.js';
import type { ForwardedLogin, LoginResponseGuard } from './login-response-guard.js';
import { sendLocalAnswer } from './local-answer.js';
import { LOGIN_DENIALS } from './login-answers.js';
import { isServedLoginPath } from './served-login-paths.js';
import { contentEncodingOf, decodeContent } from './response-encoding.js';

/** Largest login answer buffered for inspection; a login answer is a few hundred bytes. */
export const LOGIN_RESPONSE_LIMIT_BYTES = 64 * 1024;

const UNREADABLE = Buffer.alloc(0);

/** What the phase needs; built once per gateway thread. */
export interface LoginPhaseOptions {
  intercept: LoginInterceptor;
  guard: LoginResponseGuard;
  /** `HttpGateway.MaxInspectedBodyBytes`. */
  maxBodyBytes: number;
  /** `HttpGateway.TrustedProxies`: which address a password check is counted against. */
  trustedProxies: TrustedProxies;
}

/** See the module comment. */
export class LoginPhase {
  constructor(private readonly options: LoginPhaseOptions) {}

  /**
   * Runs for a request routed `login` (after before-hooks and checks, so it decides on the body
   * as hooks left it). Local answers end the request; every forwarded login — rewritten (a right
   * policy password), refused (a wrong one, with an unmatchable password) or unchanged — continues
   * with its answer routed through the guard.
   */
  run(ctx: RequestContext, next: PhaseContinuation): void {
    if (!isServedLoginPath(ctx.rawPath)) {
      sendLocalAnswer(ctx.exchange, LOGIN_DENIALS['unserved-path']);
      return;
    }
    inspectedBody(ctx, this.options.maxBodyBytes)
      .then((body) => {
        // Judged on the policy of the moment the body is complete (a credential the newest policy
        // replaced no longer logs in); see RequestContext.refreshSnapshot.
        ctx.refreshSnapshot();
        ctx.decidedOnPolicy = true;
        return this.options.intercept(body, ctx.snapshot, checkOriginOf(ctx, this.options.trustedProxies));
      })
      .then((outcome) => {
        if (!ctx.exchange.isOpen) return;
        switch (outcome.kind) {
          case 'respond':
            sendLocalAnswer(ctx.exchange, outcome.answer);
            return;
          case 'proxy-rewritten':
            ctx.bufferedBody = outcome.body;
            ctx.decisionHoldsUnder = loginDecisionHolds(ctx.snapshot!, outcome.userId);
            // Vetted too: the user may have become inactive since the check, and the new session
            // seeds the token cache (login-response-guard.ts).
            this.guardResponse(ctx, next, 'verified-password');
            next.proceed(ctx);
            return;
          case 'proxy-refused':
            ctx.bufferedBody = outcome.body;
            ctx.decisionHoldsUnder = loginDecisionHolds(ctx.snapshot!, outcome.userId);
            this.guardResponse(ctx, next, 'refused-password');
            next.proceed(ctx);
            return;
          case 'proxy':
            ctx.decisionHoldsUnder = forwardedLoginHolds(ctx.snapshot!);
            this.guardResponse(ctx, next, outcome.reason);
            next.proceed(ctx);
            return;
        }
      })
      .catch((err: unknown) => next.fail(ctx, err));
  }

  /**
   * Buffers the upstream answer and vets it first. A response buffer already registered (after
   * hooks) is chained: it gets the answer only if the guard passes it, as a refused login ends the
   * request without after-hooks (matrix-corporal's login deny).
   */
  private guardResponse(ctx: RequestContext, next: PhaseContinuation, forwarded: ForwardedLogin): void {
    const after: ResponseBufferRequest | null = ctx.responseBuffer;
    const { guard } = this.options;
    ctx.responseBuffer = {
      limitBytes: Math.max(LOGIN_RESPONSE_LIMIT_BYTES, after?.limitBytes ?? 0),
      onResponse(ctx: RequestContext, result: BufferedResult): void {
        if (!result.ok) {
          if (after !== null) after.onResponse(ctx, result);
          else next.fail(ctx, result.error);
          return;
        }
        const { response } = result;
        const decoded = decodeContent(response.body, contentEncodingOf(response.rawHeaders), LOGIN_RESPONSE_LIMIT_BYTES) ?? UNREADABLE;
        // Non-null: with no policy, login interception answers "Missing policy" and never forwards.
        guard(response.status, decoded, ctx.snapshot!, forwarded)
          .then((answer) => {
            if (!ctx.exchange.isOpen) return;
            if (answer !== null) sendLocalAnswer(ctx.exchange, answer);
            else if (after !== null) after.onResponse(ctx, result);
            else sendBufferedResponse(ctx, response);
          })
          .catch((err: unknown) => next.fail(ctx, err));
      },
    };
  }
}
