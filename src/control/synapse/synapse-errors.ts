import { CorporalError } from '../../common/errors.js';

/**
 * Error codes of the Synapse client. Every failure of a call to the homeserver is a
 * `CorporalError` with `source: 'upstream'` and one of these codes; an HTTP error answer keeps
 * Synapse's status and Matrix `errcode`.
 */
export const SynapseErrorCode = {
  /** Synapse answered with a non-2xx status (`status` and `errcode` are Synapse's). */
  Status: 'CORP_ERR_UPSTREAM_STATUS',
  /** No answer within `Matrix.TimeoutMilliseconds`. */
  Timeout: 'CORP_ERR_UPSTREAM_TIMEOUT',
  /** Connection refused, reset, DNS failure, TLS failure. */
  Unreachable: 'CORP_ERR_UPSTREAM_UNREACHABLE',
  /** The answer's body is larger than the call allows. */
  BodyTooLarge: 'CORP_ERR_UPSTREAM_BODY_TOO_LARGE',
  /** A 2xx answer that is not the JSON the call expects. */
  BadResponse: 'CORP_ERR_UPSTREAM_BAD_RESPONSE',
  /** The call was abandoned because its caller stopped (the loop is stopping). */
  Aborted: 'CORP_ERR_UPSTREAM_ABORTED',
} as const;

/** True when `err` is an error answer from Synapse with this Matrix errcode. */
export function isMatrixError(err: unknown, errcode: string): boolean {
  return err instanceof CorporalError && err.code === SynapseErrorCode.Status && err.errcode === errcode;
}

/** True when `err` is an error answer from Synapse with this HTTP status. */
export function isUpstreamStatus(err: unknown, status: number): boolean {
  return err instanceof CorporalError && err.code === SynapseErrorCode.Status && err.status === status;
}

/** A 2xx answer whose body does not have the shape a call needs. */
export function badResponse(call: string, what: string): CorporalError {
  return new CorporalError(SynapseErrorCode.BadResponse, `${call}: unexpected answer from Synapse: ${what}`, { source: 'upstream', status: 502 });
}
