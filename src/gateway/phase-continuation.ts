import type { RequestContext } from './request-context.js';

/** How a phase that takes a request over (login, UIA, internal REST auth) hands it back to the pipeline. */
export interface PhaseContinuation {
  /** Continue with the next phase (eventually the proxy). */
  proceed(ctx: RequestContext): void;
  /** Answer a failure (the pipeline's single error mapping). */
  fail(ctx: RequestContext, err: unknown): void;
}
