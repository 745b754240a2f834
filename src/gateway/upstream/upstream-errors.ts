import { CorporalError } from '../../common/errors.js';
import { ErrCode } from '../../common/matrix-errors.js';
import { CLIENT_ABORTED } from '../body.js';
import { DECISIONS } from '../checks/decision.js';
import { describeTransportError, errorCode, isUndiciTimeout } from '../../common/transport-error.js';

/** Error codes of failed proxy exchanges (also in logs). */
export const UpstreamErrorCode = {
  /** Refused, reset, closed early, DNS, TLS…: 502. */
  Unreachable: 'CORP_ERR_UPSTREAM_UNREACHABLE',
  /** No response headers in time, the body stalled, or the exchange cap passed: 504. */
  Timeout: 'CORP_ERR_UPSTREAM_TIMEOUT',
  /** The request cannot be expressed upstream (e.g. a header value undici refuses): 400. */
  Unforwardable: 'CORP_ERR_UNFORWARDABLE_REQUEST',
  /** The request line and headers are longer than Synapse's HTTP server takes (header-section.ts): 431. */
  HeadTooLarge: 'CORP_ERR_REQUEST_HEAD_TOO_LARGE',
  /** A response to buffer (for an after-hook) is larger than allowed: 502. */
  ResponseTooLarge: 'CORP_ERR_RESPONSE_TOO_LARGE',
  /** A request let through on a policy replaced while it waited for a connection: 503. */
  PolicyChanged: 'CORP_ERR_POLICY_CHANGED',
} as const;

const UNFORWARDABLE_CODES: ReadonlySet<string> = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

/**
 * Maps whatever a proxy exchange failed with to the `CorporalError` answered to the client:
 * timeouts → 504, requests undici refuses to send → 400, everything else → 502; all Matrix
 * errors (matrix-corporal answered 502 with an empty body). Compares error codes, not classes.
 */
export function upstreamFailure(err: unknown): CorporalError {
  if (err instanceof CorporalError) return err;
  if (isUndiciTimeout(err)) return upstreamTimeout(err);
  const code = errorCode(err);
  if (code !== undefined && UNFORWARDABLE_CODES.has(code)) {
    return new CorporalError(UpstreamErrorCode.Unforwardable, 'The request cannot be forwarded to the homeserver', {
      source: 'client', status: 400, errcode: ErrCode.Unknown, cause: err,
    });
  }
  return new CorporalError(UpstreamErrorCode.Unreachable, 'The homeserver could not be reached', {
    source: 'upstream', status: 502, errcode: ErrCode.Unknown, retryable: true, cause: err,
  });
}

/** The 504 answered when the homeserver is too slow (also used by the exchange watchdog). */
export function upstreamTimeout(cause?: unknown): CorporalError {
  return new CorporalError(UpstreamErrorCode.Timeout, 'The homeserver did not answer in time', {
    source: 'upstream', status: 504, errcode: ErrCode.Unknown, retryable: true, ...(cause === undefined ? {} : { cause }),
  });
}

/** The 431 for a request whose line and headers are longer than `limit` bytes, the homeserver's limit. */
export function requestHeadTooLarge(limit: number): CorporalError {
  return new CorporalError(UpstreamErrorCode.HeadTooLarge, `Request line and headers longer than the homeserver accepts (${limit} bytes)`, {
    source: 'client', status: 431, errcode: ErrCode.TooLarge,
  });
}

/** The error a buffered response larger than `limit` bytes fails with. */
export function responseTooLarge(limit: number): CorporalError {
  return new CorporalError(UpstreamErrorCode.ResponseTooLarge, `The homeserver's response exceeds ${limit} bytes`, {
    source: 'upstream', status: 502, errcode: ErrCode.Unknown,
  });
}

/**
 * 503 for a request let through on a policy that was replaced while it waited for an upstream
 * connection; the client may send it again, to be decided on the newer one.
 */
export function policyChangedWhileQueued(): CorporalError {
  return new CorporalError(UpstreamErrorCode.PolicyChanged, DECISIONS.policyChanging.message, {
    source: 'policy', status: 503, errcode: ErrCode.Unknown, retryable: true,
  });
}

/** The cause attached to an upstream request aborted because the client left (never answered). */
export function clientGone(): CorporalError {
  return new CorporalError(CLIENT_ABORTED, 'the client closed the connection', { source: 'client', status: 400 });
}

/** A short description of an upstream failure's cause for logs (`code: message`, no secrets). */
export function describeCause(err: CorporalError): string {
  return err.cause instanceof Error ? describeTransportError(err.cause) : err.message;
}
