/**
 * Matrix error codes used by Corporal, and the `{"errcode","error"}` body every local error answer
 * carries. Codes are the stable strings of the Matrix spec (and of matrix-corporal's answers).
 */
export const ErrCode = {
  Forbidden: 'M_FORBIDDEN',
  Unknown: 'M_UNKNOWN',
  MissingToken: 'M_MISSING_TOKEN',
  UnknownToken: 'M_UNKNOWN_TOKEN',
  BadJson: 'M_BAD_JSON',
  NotJson: 'M_NOT_JSON',
  TooLarge: 'M_TOO_LARGE',
  LimitExceeded: 'M_LIMIT_EXCEEDED',
  UserDeactivated: 'M_USER_DEACTIVATED',
  UserLocked: 'M_USER_LOCKED',
  InvalidUsername: 'M_INVALID_USERNAME',
  MissingParam: 'M_MISSING_PARAM',
  InvalidParam: 'M_INVALID_PARAM',
  NotFound: 'M_NOT_FOUND',
  Unrecognized: 'M_UNRECOGNIZED',
  UserInUse: 'M_USER_IN_USE',
} as const;

/** One of the error codes above (other Matrix codes may pass through from Synapse unchanged). */
export type MatrixErrCode = (typeof ErrCode)[keyof typeof ErrCode];

/** The body of a Matrix error answer. */
export interface MatrixErrorBody {
  errcode: string;
  error: string;
}

/**
 * Serialises a Matrix error body; `JSON.stringify` keeps the key order errcode, error. With
 * `retryAfterMs` (for `M_LIMIT_EXCEEDED`) the body also carries the spec's `retry_after_ms`.
 */
export function matrixErrorJson(errcode: string, message: string, retryAfterMs?: number): string {
  return JSON.stringify(retryAfterMs === undefined ? { errcode, error: message } : { errcode, error: message, retry_after_ms: retryAfterMs });
}
