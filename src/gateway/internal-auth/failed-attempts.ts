/**
 * A bound on wrong passwords per user at the internal REST auth endpoint, shared by every gateway
 * thread.
 *
 * The endpoint answers whether a policy password is right. Without a bound, any peer the
 * allow-list admits (by default every private network: bridges, bots, any container beside
 * Synapse) could test about a thousand guesses a second against one user (red team 15, F3). `/login`
 * through the gateway meets Synapse's `rc_login.failed_attempts`; this is the same rule for the
 * endpoint, with Synapse's default numbers: a burst of 3 failures per user, then one more every
 * 1/0.17 s. A user over the bound gets 429 without a check, right password or not, until then.
 *
 * The count lives in a `SharedArrayBuffer` the supervisor hands every gateway thread (a count per
 * thread would multiply the bound by the number of threads, and a client picks its thread by
 * opening a new connection). Each user hashes to one of {@link SLOTS} slots holding the time at
 * which the user's budget is whole again (the generic cell rate algorithm, updated with
 * compare-and-swap), so memory is fixed whatever the number of users tried. Two users in one slot
 * share a budget: failing for one can hold up the other, which an attacker could do more simply by
 * failing for that user directly.
 */

/** Synapse's default `rc_login.failed_attempts.burst_count`. */
export const FAILED_ATTEMPTS_BURST = 3;
/** Synapse's default `rc_login.failed_attempts.per_second`. */
export const FAILED_ATTEMPTS_PER_SECOND = 0.17;
/** Slots of the shared table (a power of two): 512 KiB. */
export const SLOTS = 65_536;

/** A table for {@link FailedAttempts}, to share between threads (`workerData` carries it). */
export function createFailedAttemptsTable(): SharedArrayBuffer {
  return new SharedArrayBuffer(SLOTS * BigInt64Array.BYTES_PER_ELEMENT);
}

/** Per-user failed-check budgets over a shared table; see the module comment. */
export class FailedAttempts {
  private readonly slots: BigInt64Array;
  /** Milliseconds one failure adds to a slot's time. */
  private readonly interval: number;
  /** How far ahead of now a slot's time may be while checks still run: the burst's worth. */
  private readonly tolerance: number;

  constructor(
    table: SharedArrayBuffer = createFailedAttemptsTable(),
    burst = FAILED_ATTEMPTS_BURST,
    perSecond = FAILED_ATTEMPTS_PER_SECOND,
    private readonly now: () => number = Date.now,
  ) {
    this.slots = new BigInt64Array(table);
    this.interval = 1000 / perSecond;
    this.tolerance = (burst - 1) * this.interval;
  }

  /**
   * Takes one check from `userId`'s budget: 0 when it may run now (counted as a failure until
   * {@link refund}ed), else the milliseconds until one may. Taken before the check, not after it,
   * so that checks running at the same time (in several threads) each see the others' debit.
   */
  take(userId: string): number {
    const slot = slotOf(userId);
    for (;;) {
      const before = Atomics.load(this.slots, slot);
      const now = this.now();
      const due = Math.max(Number(before), now);
      if (due - now > this.tolerance) return Math.ceil(due - now - this.tolerance);
      // Rounded down: sub-millisecond remainders must not add up to a refusal inside the burst.
      const after = BigInt(Math.floor(due + this.interval));
      if (Atomics.compareExchange(this.slots, slot, before, after) === before) return 0;
    }
  }

  /** Gives back a check {@link take}n for `userId` that was not a wrong password (right, or no verdict). */
  refund(userId: string): void {
    const slot = slotOf(userId);
    for (;;) {
      const before = Atomics.load(this.slots, slot);
      const after = BigInt(Math.floor(Number(before) - this.interval));
      if (Atomics.compareExchange(this.slots, slot, before, after) === before) return;
    }
  }
}

/** FNV-1a over the id's UTF-16 code units, folded to a slot. */
function slotOf(userId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) & (SLOTS - 1);
}
