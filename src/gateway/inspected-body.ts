/**
 * The request body for the phases that must read it (login, UIA, internal REST auth).
 */
import type { RequestContext } from './request-context.js';
import { readBody } from './body.js';

const EMPTY = Buffer.alloc(0);

/**
 * The whole request body, read at most once per request: an earlier phase's `ctx.bufferedBody`
 * (possibly changed by a before-hook) if there is one, else the body read now with `maxBytes`
 * as bound (the caller's: `HttpGateway.MaxInspectedBodyBytes`, or `DELAYED_EVENT_MAX_BODY_BYTES`
 * for a request that schedules a delayed event; over it, 413 `M_TOO_LARGE`) and kept in
 * `ctx.bufferedBody`, which is then what goes upstream. A request without a body reads as empty
 * and stays without one. The buffer is reserved from the thread's budget (`ctx`; over it, 503).
 */
export function inspectedBody(ctx: RequestContext, maxBytes: number): Promise<Buffer> {
  if (ctx.bufferedBody !== null) return Promise.resolve(ctx.bufferedBody);
  if (ctx.body === null) return Promise.resolve(EMPTY);
  return readBody(ctx.body, maxBytes, ctx).then((body) => {
    ctx.bufferedBody = body;
    return body;
  });
}
