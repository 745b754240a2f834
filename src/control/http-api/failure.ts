import { CorporalError, describeError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { ErrCode } from '../../common/matrix-errors.js';
import { SynapseErrorCode } from '../synapse/synapse-errors.js';
import { apiError } from './api-server.js';
import type { ApiResponse } from './route.js';

/**
 * The answer for a failed operation, `"<prefix>: <reason>"` in every case (matrix-corporal's
 * messages, such as "Could not obtain access token: …"), with a real status instead of its 200:
 * a refusal (`CorporalError` of source `client` or `policy`) keeps its own status and errcode;
 * Synapse not answering in time is 504, any other Synapse failure 502 (Synapse's status is in the
 * message); anything else is a bug: 500, logged.
 */
export function failureResponse(prefix: string, err: unknown, logger: Logger): ApiResponse {
  if (err instanceof CorporalError) {
    if (err.source === 'client' || err.source === 'policy') return apiError(err.status, err.errcode, `${prefix}: ${err.message}`);
    if (err.code === SynapseErrorCode.Timeout) return apiError(504, ErrCode.Unknown, `${prefix}: ${err.message}`);
    if (err.source === 'upstream') return apiError(502, ErrCode.Unknown, `${prefix}: ${err.message}`);
  }
  logger.error({ err: describeError(err) }, `${prefix}: internal error`);
  return apiError(500, ErrCode.Unknown, `${prefix}: internal error`);
}

/** 503 for an operation that needs the reconciler (the admin session) while it is not ready. */
export function unavailableResponse(prefix: string, reason: string): ApiResponse {
  return apiError(503, ErrCode.Unknown, `${prefix}: ${reason}`);
}
