import { backoffDelay } from '../../common/backoff.js';
import type { PendingRetry } from './run-summary.js';

/** What failed: one user, one room (retried through the users its action listed), or a whole pass. */
export type RetryTarget = { kind: 'user'; userId: string } | { kind: 'room'; roomId: string; userIds: ReadonlySet<string> } | { kind: 'pass' };

interface Entry {
  target: RetryTarget;
  attempt: number;
  /** null while the retry is queued or running. */
  dueAt: number | null;
}

/** Options of {@link RetrySchedule}. */
export interface RetryScheduleOptions {
  /** `Reconciliation.RetryIntervalMilliseconds`. */
  initialMs: number;
  /** `Reconciliation.RetryMaxIntervalMilliseconds`. */
  maxMs: number;
  random?: () => number;
}

/** Work that became due: a full pass, and/or these users. */
export interface DueWork {
  full: boolean;
  users: Set<string>;
}

/**
 * Failed users, rooms and passes, each with its own capped exponential backoff with jitter
 * (initial·2^n, at most `maxMs`, randomised within [d/2, d]). Pure bookkeeping: the loop owns the
 * timer and asks for {@link nextDueAt} and {@link takeDue}.
 *
 * Targets that failed together (in one run) share one jitter draw, so those at the same attempt
 * fall due at the same moment and are retried by one run. With a draw per target, a Synapse outage
 * during a pass over N users turned into N one-user runs, each logging its own
 * `reconciliation run failed` error and replacing the last run in `/status` (operator review 3, F3).
 * The jitter still keeps successive rounds of one batch apart; concurrency within a run is bounded
 * by `Reconciliation.Concurrency`, so one large retry run is no burst for Synapse.
 */
export class RetrySchedule {
  readonly #entries = new Map<string, Entry>();
  readonly #options: RetryScheduleOptions;

  constructor(options: RetryScheduleOptions) {
    this.#options = options;
  }

  /** Records one more failure of each of `targets` (once per target), which failed together, and schedules their next try. */
  failed(targets: readonly RetryTarget[], now: number): void {
    if (targets.length === 0) return;
    const draw = (this.#options.random ?? Math.random)();
    const backoff = { initialMs: this.#options.initialMs, maxMs: this.#options.maxMs, jitter: true };
    const seen = new Set<string>();
    for (const target of targets) {
      const key = keyOf(target);
      if (seen.has(key)) continue;
      seen.add(key);
      const previous = this.#entries.get(key);
      const attempt = (previous?.attempt ?? -1) + 1;
      this.#entries.set(key, { target: merged(previous?.target, target), attempt, dueAt: now + backoffDelay(attempt, backoff, () => draw) });
    }
  }

  /** Forgets `target`'s failures (it succeeded). */
  succeeded(target: RetryTarget): void {
    this.#entries.delete(keyOf(target));
  }

  /** Whether `target` has a pending or queued retry. */
  has(target: RetryTarget): boolean {
    return this.#entries.has(keyOf(target));
  }

  /** Targets with a retry pending or queued. */
  targets(): RetryTarget[] {
    return [...this.#entries.values()].map((entry) => entry.target);
  }

  /** Targets whose retry {@link takeDue} queued and that no run has settled yet. */
  queued(): RetryTarget[] {
    return [...this.#entries.values()].filter((entry) => entry.dueAt === null).map((entry) => entry.target);
  }

  /** Earliest due time of a pending retry; null when none. */
  nextDueAt(): number | null {
    let next: number | null = null;
    for (const entry of this.#entries.values()) if (entry.dueAt !== null && (next === null || entry.dueAt < next)) next = entry.dueAt;
    return next;
  }

  /** Brings every retry still waiting forward to `now` (Synapse is back after an outage); returns how many were. */
  advance(now: number): number {
    let advanced = 0;
    for (const entry of this.#entries.values()) {
      if (entry.dueAt === null || entry.dueAt <= now) continue;
      entry.dueAt = now;
      advanced++;
    }
    return advanced;
  }

  /** Marks every retry due at `now` as queued and returns the work it needs. */
  takeDue(now: number): DueWork {
    const work: DueWork = { full: false, users: new Set() };
    for (const entry of this.#entries.values()) {
      if (entry.dueAt === null || entry.dueAt > now) continue;
      entry.dueAt = null;
      const target = entry.target;
      if (target.kind === 'pass') work.full = true;
      else if (target.kind === 'user') work.users.add(target.userId);
      else for (const userId of target.userIds) work.users.add(userId);
    }
    return work;
  }

  /** Pending and queued retries, for status reports (queued ones show `dueAt` = `now`). */
  list(now: number): PendingRetry[] {
    return [...this.#entries.values()].map((entry) => ({
      ...(entry.target.kind === 'user' ? { userId: entry.target.userId } : {}),
      ...(entry.target.kind === 'room' ? { roomId: entry.target.roomId } : {}),
      attempt: entry.attempt + 1,
      dueAt: entry.dueAt ?? now,
    }));
  }
}

/**
 * A room's retry covers the users of every failure not yet settled: a later failure of the room
 * for other users (a run over some of them) must not drop the earlier ones (verification 16b).
 */
function merged(previous: RetryTarget | undefined, target: RetryTarget): RetryTarget {
  if (previous?.kind !== 'room' || target.kind !== 'room') return target;
  return { ...target, userIds: new Set([...previous.userIds, ...target.userIds]) };
}

function keyOf(target: RetryTarget): string {
  if (target.kind === 'user') return `user:${target.userId}`;
  if (target.kind === 'room') return `room:${target.roomId}`;
  return 'pass';
}
