import { CorporalError, describeError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { ErrCode } from '../common/matrix-errors.js';
import type { RequestContext } from './request-context.js';
import { CLIENT_TRIGGERED_LOG_INTERVAL_MS, LogThrottle } from '../common/log-throttle.js';
import type { HeaderPair } from './respond.js';

/**
 * A bug a client's request runs into, it can run into again on every request: logged at most once
 * per interval per thread (each module instance is one thread's), with the count held back.
 */
const bugLog = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);

/** On a retryable 503 (the thread's buffers or look-ups busy, a policy change mid-request): try again soon. */
const RETRY_SOON: readonly HeaderPair[] = [['Retry-After', '1']];

/**
 * The one place where a failure becomes an HTTP answer: a `CorporalError` from the client,
 * upstream or policy side is answered with its status, Matrix errcode and message (written for
 * clients; a retryable 503 with `Retry-After: 1`); anything else — a bug — is logged and answered
 * 500 `M_UNKNOWN` without details (the log line at most once per 10 s per thread).
 * Nothing is written once the client has gone; once a streamed response has started, the
 * connection is closed instead (the status line is out: the only honest signal left, and the
 * exchange must end rather than wait for the drain's deadline).
 */
export function answerError(ctx: RequestContext, err: unknown, logger: Logger): void {
  if (err instanceof CorporalError && err.source !== 'internal' && err.source !== 'config') {
    if (ctx.exchange.responseStarted) ctx.exchange.forceClose();
    else ctx.exchange.sendMatrixError(err.status, err.errcode, err.message, err.retryable && err.status === 503 ? RETRY_SOON : []);
    return;
  }
  const suppressed = bugLog.admit();
  if (suppressed !== null) logger.error({ route: ctx.routeId, method: ctx.method, err: describeError(err), code: err instanceof CorporalError ? err.code : undefined, suppressed }, 'request failed');
  if (ctx.exchange.responseStarted) ctx.exchange.forceClose();
  else ctx.exchange.sendMatrixError(500, ErrCode.Unknown, 'Internal server error');
}
