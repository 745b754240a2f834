/**
 * Calls `fire` once a burst of {@link BurstDebounce.poke | pokes} is over: `quietMs` after the last
 * poke, but never later than `maxWaitMs` after the burst's first poke. Why the bound: without it a
 * steady trickle of pokes (a log file written next to the policy, a busy editor) postpones the call
 * for as long as the trickle lasts, and a policy change the operator made never comes into force.
 * A poke after `fire` starts a new burst. `cancel()` drops a pending call.
 */
export class BurstDebounce {
  private timer: NodeJS.Timeout | null = null;
  private burstStartedAt: number | null = null;

  constructor(
    private readonly quietMs: number,
    private readonly maxWaitMs: number,
    private readonly fire: () => void,
  ) {}

  /** Something happened: (re)arm the timer within the burst's bound. */
  poke(): void {
    // Monotonic: a wall-clock step must not end a burst early or stretch it.
    const now = performance.now();
    this.burstStartedAt ??= now;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(this.quietMs, this.burstStartedAt + this.maxWaitMs - now));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.burstStartedAt = null;
      this.fire();
    }, delay);
  }

  /** Drops a pending call; the next poke starts a new burst. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.burstStartedAt = null;
  }
}
