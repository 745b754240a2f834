import { CorporalError } from '../common/errors.js';
import { ErrCode } from '../common/matrix-errors.js';

/** Error code when a thread's buffer budget is spent (answered 503 `M_UNKNOWN`). */
export const GATEWAY_BUSY = 'CORP_ERR_GATEWAY_BUSY';

/** Minimum time between two warnings about refused buffers. */
const WARN_INTERVAL_MS = 10_000;

/**
 * How many bytes of request and response bodies one gateway thread may hold in memory at once
 * for inspection (`HttpGateway.MaxBufferedBytesPerThread`).
 *
 * `MaxInspectedBodyBytes` bounds each body; this bounds their sum. Without it, many concurrent
 * clients sending large bodies to checked routes — or an after-hook on large responses — pin
 * N × `MaxInspectedBodyBytes`, and an out-of-memory crash would drop every connection of the
 * process, syncs included. With it, only the requests that need a buffer beyond the budget are
 * refused (503) while it is spent; streamed requests are never affected.
 */
export class BufferBudget {
  /** Bytes currently held by requests of this thread. */
  inUse = 0;
  private lastWarnedAt = Number.NEGATIVE_INFINITY;

  /**
   * `warn` is told when a request is refused, at most once per {@link WARN_INTERVAL_MS} (an
   * operator should know, but a flood of refusals must not flood the log).
   */
  constructor(
    readonly limitBytes: number,
    private readonly warn: (inUseBytes: number, limitBytes: number) => void = () => {},
  ) {}

  /** Takes `bytes` from the budget if they fit; false (and nothing taken) otherwise. */
  tryTake(bytes: number): boolean {
    if (this.inUse + bytes <= this.limitBytes) {
      this.inUse += bytes;
      return true;
    }
    const now = performance.now();
    if (now - this.lastWarnedAt >= WARN_INTERVAL_MS) {
      this.lastWarnedAt = now;
      this.warn(this.inUse, this.limitBytes);
    }
    return false;
  }

  /** Returns `bytes` taken earlier. */
  give(bytes: number): void {
    this.inUse = Math.max(0, this.inUse - bytes);
  }
}

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
