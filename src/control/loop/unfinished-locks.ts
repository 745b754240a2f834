import { describeError } from '../../common/errors.js';
import { firstFew } from '../../common/first-few.js';
import type { Logger } from '../../common/logger.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import type { ApplyPlanResult } from './apply-plan.js';
import type { UnfinishedLocksStore } from './unfinished-locks-store.js';

/**
 * Failed `user.finish_lock` after which the reconciler stops trying for a user
 * ({@link UnfinishedLocks.record}). With the retry backoff, five attempts span a few retry intervals.
 */
export const MAX_LOCK_FOLLOW_UPS = 5;

/**
 * The reconcile loop's users whose lock left work undone, delayed events or devices
 * (`ApplyPlanResult.locksLeftUnfinished`) → the `user.finish_lock` that failed since: each run plans
 * one for them while they stay locked and inactive, up to {@link MAX_LOCK_FOLLOW_UPS}. With a
 * store, they are loaded from it before the first run that can read it and saved after each run
 * that changed them, so a restart in between does not forget them; nothing is saved over a record
 * that could not be read yet. Store failures are logged, never thrown: the next run tries again.
 */
export class UnfinishedLocks {
  readonly #failedFollowUps = new Map<string, number>();
  #loaded = false;
  /** What the store holds as far as this object knows (entries as JSON), to save only changes. */
  #saved = '[]';

  /** `store` absent: in memory only (tests of the loop alone). */
  constructor(
    private readonly store: UnfinishedLocksStore | undefined,
    private readonly logger: Logger,
  ) {}

  /** The users to plan a `user.finish_lock` for (`PlanOptions.locksUnfinished`). */
  userIds(): Set<string> {
    return new Set(this.#failedFollowUps.keys());
  }

  /**
   * Reads the store once it can, adding the users not known yet: they are planned like the others.
   * Only the first load that succeeds counts, however many run at once.
   */
  async load(): Promise<void> {
    if (this.store === undefined || this.#loaded) return;
    try {
      const saved = await this.store.load();
      // Another load (a dry run's, beside a run's) got there first: the record may have changed since.
      if (this.#loaded) return;
      for (const [userId, failed] of saved) if (!this.#failedFollowUps.has(userId)) this.#failedFollowUps.set(userId, failed);
      this.#loaded = true;
      this.#saved = entriesJson(saved);
      if (saved.size > 0) this.logger.info({ count: saved.size, users: firstFew([...saved.keys()]) }, 'resuming the unfinished locks of users recorded before a restart');
    } catch (err) {
      this.logger.warn({ err: describeError(err) }, 'cannot read the record of unfinished locks; trying again before the next run');
    }
  }

  /**
   * After a run: remembers whose lock left work undone, forgets those now finished, and those
   * `policy` no longer has as inactive users (an active user's delayed events and sessions are
   * theirs); gives up on a user after {@link MAX_LOCK_FOLLOW_UPS} failed follow-ups, with an error.
   */
  record(applied: ApplyPlanResult, policy: PolicySnapshot | null): void {
    const outstanding = this.#failedFollowUps;
    for (const userId of applied.locksLeftUnfinished) {
      const failed = outstanding.has(userId) ? outstanding.get(userId)! + 1 : 0;
      if (failed < MAX_LOCK_FOLLOW_UPS) {
        outstanding.set(userId, failed);
        continue;
      }
      // Each attempt unlocks the account for a moment, and a user can make them all fail: stop.
      outstanding.delete(userId);
      this.logger.error(
        { userId, attempts: failed },
        `gave up finishing the lock of ${userId}: its delayed events may be sent when due, and its devices may remain; deactivate the account through Synapse (which cancels and deletes them), or do it by hand`,
      );
    }
    for (const userId of applied.locksFinished) outstanding.delete(userId);
    for (const userId of outstanding.keys()) {
      if (policy?.users.get(userId)?.active !== false) outstanding.delete(userId);
    }
  }

  /** Saves the users when they changed since they were read or saved (only once the store was read). */
  async save(): Promise<void> {
    await this.#write(this.#failedFollowUps, 'trying again after the next run');
  }

  /**
   * Before a run locks `locking` (its `user.deactivate`s): saves them as if their locks were left
   * unfinished, so that a crash during the run (the record is otherwise saved only when it ends)
   * does not lose a lock that did leave work undone. After a restart, their follow-up runs once
   * for each of them that is locked and inactive, finished or not (an unlock and a lock more);
   * the run's own {@link save} drops those it finished. Only the store is changed, not what is
   * planned. A failure is logged: the locks go ahead, they matter more.
   */
  async saveAhead(locking: Iterable<string>): Promise<void> {
    const ahead = new Map(this.#failedFollowUps);
    for (const userId of locking) if (!ahead.has(userId)) ahead.set(userId, 0);
    await this.#write(ahead, 'the locks of this run go ahead');
  }

  async #write(entries: ReadonlyMap<string, number>, onFailure: string): Promise<void> {
    if (this.store === undefined || !this.#loaded) return;
    const json = entriesJson(entries);
    if (json === this.#saved) return;
    try {
      await this.store.save(entries);
      this.#saved = json;
    } catch (err) {
      this.logger.warn({ err: describeError(err) }, `cannot save the record of unfinished locks; ${onFailure}`);
    }
  }
}

/** The entries as JSON in a stable order, to compare what is saved with what is known. */
function entriesJson(entries: ReadonlyMap<string, number>): string {
  return JSON.stringify([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
