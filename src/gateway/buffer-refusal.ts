import { CorporalError } from '../common/errors.js';
import type { BufferBudget } from '../common/buffer-budget.js';
import { ErrCode } from '../common/matrix-errors.js';

/**
 * Error code when a thread's {@link BufferBudget} (`HttpGateway.MaxBufferedBytesPerThread`) is spent
 * (answered 503 `M_UNKNOWN`): only the requests that need a buffer beyond it are refused while it
 * is spent; streamed requests are never affected.
 */
export const GATEWAY_BUSY = 'CORP_ERR_GATEWAY_BUSY';

/** What a body reader draws its buffer bytes from: a request's share of its thread's {@link BufferBudget}. */
export interface BufferReservation {
  /** Reserves `bytes` more for this request; false when the budget cannot give them. */
  reserveBuffer(bytes: number): boolean;
}

/** The 503 answered when a buffer for inspection cannot be reserved. */
export function gatewayBusy(): CorporalError {
  return new CorporalError(GATEWAY_BUSY, 'The gateway is inspecting too many large bodies at once; try again shortly', {
    source: 'client', status: 503, errcode: ErrCode.Unknown, retryable: true,
  });
}
