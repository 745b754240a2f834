/**
 * The internal REST auth route of the pipeline: answered entirely by the gateway, right after
 * routing (no hooks, no token, no policy requirement: a missing policy is the endpoint's own 500).
 */
import type { RequestContext } from '../request-context.js';
import { CORS_HEADERS, type HeaderPair } from '../respond.js';
import { inspectedBody } from '../inspected-body.js';
import { sendLocalAnswer } from '../login/local-answer.js';
import type { InternalAuthHandler } from './internal-auth-handler.js';

const JSON_HEADERS: readonly HeaderPair[] = [['Content-Type', 'application/json'], ...CORS_HEADERS];
/** Headers a reverse proxy adds: their presence means the TCP peer is not the real client. */
const FORWARDING_HEADERS: readonly string[] = ['forwarded', 'x-forwarded-for', 'x-real-ip'];

/** What the phase needs; built once per gateway thread. */
export interface InternalAuthPhaseOptions {
  handle: InternalAuthHandler;
  /** `HttpGateway.MaxInspectedBodyBytes`. */
  maxBodyBytes: number;
}

/** See the module comment. */
export class InternalAuthPhase {
  constructor(private readonly options: InternalAuthPhaseOptions) {}

  /** Answers the request (the enabled switch and source address before the body is read); `fail` maps errors (an oversized body: 413). */
  run(ctx: RequestContext, fail: (ctx: RequestContext, err: unknown) => void): void {
    const { handle } = this.options;
    const refusal = handle.refuse(ctx.remoteAddress, FORWARDING_HEADERS.some((name) => ctx.headerValues(name).length > 0));
    if (refusal !== null) {
      sendLocalAnswer(ctx.exchange, refusal);
      return;
    }
    inspectedBody(ctx, this.options.maxBodyBytes)
      .then((body) => {
        ctx.refreshSnapshot(); // the policy's credentials of the moment the body is complete
        return handle.check(body, ctx.snapshot, ctx.signal);
      })
      .then((answer) => {
        if (answer.kind === 'json') ctx.exchange.send(answer.status, JSON_HEADERS, answer.body);
        else sendLocalAnswer(ctx.exchange, answer.answer);
      })
      .catch((err: unknown) => fail(ctx, err));
  }
}
