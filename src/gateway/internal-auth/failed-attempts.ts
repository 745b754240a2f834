/**
 * A bound on wrong passwords per user at the internal REST auth endpoint, shared by every gateway
 * thread.
 *
 * The endpoint answers whether a policy password is right. Without a bound, any peer the
 * allow-list admits (by default every private network: bridges, bots, any container beside
 * Synapse) could test about a thousand guesses a second against one user (red team 15, F3). `/login`
 * through the gateway meets Synapse's `rc_login.failed_attempts`; this is the same rule for the
 * endpoint, with Synapse's default numbers (fixed, not read from Synapse's configuration, and
 * counted apart from Synapse's own): a burst of 3 wrong passwords per user, then one more every
 * 1/0.17 s. A user over the bound gets 429 without a check, right password or not, until then.
 *
 * The count lives in a table every thread shares (common/failed-attempts-table.ts: a count per
 * thread would multiply the bound by the number of threads, and a client picks its thread by
 * opening a new connection). Each user hashes to one slot holding the time at which the user's
 * budget is whole again (the generic cell rate algorithm, updated with compare-and-swap), so memory
 * is fixed whatever the number of users tried. A check takes its share when it starts, so checks
 * running at the same time see each other, and gives it back unless the password was wrong. Two
 * users in one slot share a budget: failing for one can hold up the other, which an attacker could
 * do more simply by failing for that user directly.
 */
import { createFailedAttemptsTable, FAILED_ATTEMPTS_SLOTS } from '../../common/failed-attempts-table.js';

/** Synapse's default `rc_login.failed_attempts.burst_count`. */
export const FAILED_ATTEMPTS_BURST = 3;
/** Synapse's default `rc_login.failed_attempts.per_second`. */
export const FAILED_ATTEMPTS_PER_SECOND = 0.17;

/** The outcome of {@link FailedAttempts.take}. */
export type Take =
  /** The check may run; hand `ticket` back to {@link FailedAttempts.refund} unless the password was wrong. */
  | { readonly allowed: true; readonly ticket: number }
  /** Over the bound: the next check is due in `waitMs`. */
  | { readonly allowed: false; readonly waitMs: number };

/** Per-user wrong-password budgets over a shared table; see the module comment. */
export class FailedAttempts {
  private readonly slots: BigInt64Array;
  /** Milliseconds one check adds to a slot's time. */
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

  /** Takes one check from `userId`'s budget, or says how long until one is due. */
  take(userId: string): Take {
    const slot = slotOf(userId);
    for (;;) {
      const before = Atomics.load(this.slots, slot);
      const now = this.now();
      const due = Math.max(Number(before), now);
      if (due - now > this.tolerance) return { allowed: false, waitMs: Math.ceil(due - now - this.tolerance) };
      // Rounded down: sub-millisecond remainders must not add up to a refusal inside the burst.
      const after = Math.floor(due + this.interval);
      if (Atomics.compareExchange(this.slots, slot, before, BigInt(after)) === before) return { allowed: true, ticket: after };
    }
  }

  /**
   * Gives back a check {@link take}n for `userId` that was not a wrong password (right, or no
   * verdict): as much of its debit as is still running (`ticket` − now, at most one interval), so
   * that a check which stayed pending long cannot give back time that has already passed.
   */
  refund(userId: string, ticket: number): void {
    const slot = slotOf(userId);
    for (;;) {
      const before = Atomics.load(this.slots, slot);
      const live = Math.min(this.interval, Math.max(0, ticket - this.now()));
      if (live === 0) return;
      const after = BigInt(Math.ceil(Number(before) - live));
      if (Atomics.compareExchange(this.slots, slot, before, after) === before) return;
    }
  }
}

/** FNV-1a over the id's UTF-16 code units; its low bits pick the slot. */
function slotOf(userId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) & (FAILED_ATTEMPTS_SLOTS - 1);
}
