/** Minimum time between two warnings about refused buffers. */
const WARN_INTERVAL_MS = 10_000;

/**
 * How many bytes of bodies a server may hold in memory at once: each body is bounded on its own,
 * this bounds their sum, so that many concurrent large bodies are refused (while it is spent)
 * instead of exhausting memory. A gateway thread's bodies held for inspection
 * (`HttpGateway.MaxBufferedBytesPerThread`: one out-of-memory crash would drop every connection
 * of the process, syncs included); the HTTP API's request bodies (policy pushes).
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
