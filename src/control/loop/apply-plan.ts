import { describeError, isRetryable } from '../../common/errors.js';
import type { Action, RoomCorporalJoinAction, RoomUsersSetPowerLevelsAction } from '../actions.js';
import type { ActionScope, ApplyContext } from '../apply/apply-context.js';
import { ACTION_TIMEOUT, applyAction } from '../apply/apply-action.js';
import { DELAYED_EVENTS_NOT_CANCELLED, DEVICES_NOT_DELETED } from '../apply/user-handlers.js';
import { mapBounded } from '../../common/map-bounded.js';
import { UserTokenLease, leaseReleasedError } from '../synapse/user-token-lease.js';
import type { RunFailure, RunSummary } from './run-summary.js';

/** Options of {@link applyPlan}. */
export interface ApplyPlanOptions {
  ctx: ApplyContext;
  /** Users (and then rooms) worked on at once (`Reconciliation.Concurrency`). */
  concurrency: number;
  /** Deadline of one action. */
  actionTimeoutMs: number;
  /** Asked before every action; true stops starting new ones (a newer policy for everyone, or stop). */
  shouldStop: () => boolean;
  /**
   * Asked before each action of a user, and of a power-level action for each user it lists: true
   * when a newer policy changed what the plan does for that user. Such actions (and such users'
   * entries of a power-level action) are left to the run the newer policy queued; the run goes on
   * for everyone else, whose policy entries did not change.
   */
  userSuperseded?: (userId: string) => boolean;
  /** Live counters of the run, updated as actions finish. */
  progress: Pick<RunSummary, 'actionsDone' | 'actionsFailed' | 'actionsSkipped' | 'failures'>;
}

/** What {@link applyPlan} did not get done. */
export interface ApplyPlanResult {
  /** Users with at least one failed action. */
  failedUsers: Set<string>;
  /** Rooms whose power-level action failed → the users it listed. */
  failedRooms: Map<string, Set<string>>;
  /** Users whose actions (or entries of a power-level action) were left to a later run because a newer policy changed them. */
  deferredUsers: Set<string>;
  /** Whether `shouldStop` cut the run short. */
  interrupted: boolean;
  /** Rooms the corporal user joined (`room.corporal_join` done): a new pass plans them. */
  corporalJoined: Set<string>;
  /** Rooms where the corporal user's join failed for a reason that may pass (a timeout, a 5xx, rate limits): retried as a failed pass. */
  corporalJoinFailed: Set<string>;
  /**
   * Rooms where Synapse refused the corporal user's join (a 4xx other than rate limits: the
   * invitation withdrawn, the room blocked or unknown). Retrying soon would not help: the next
   * full pass tries again if the invitation is still there (review 20, finding 4).
   */
  corporalJoinRefused: Set<string>;
  /**
   * Users whose lock may have left work undone (delayed events not cancelled, devices not deleted):
   * their `user.deactivate` failed after the lock or ran out of time, or their `user.finish_lock` failed.
   */
  locksLeftUnfinished: Set<string>;
  /** Users whose `user.deactivate` or `user.finish_lock` succeeded: nothing is left undone. */
  locksFinished: Set<string>;
}

/**
 * Executes a plan with failure isolation. The corporal user's own joins (`room.corporal_join`)
 * run first, `concurrency` at a time. Then actions are grouped by user (the planner's order kept
 * within each user) and users run in parallel, `concurrency` at a time; power-level actions, one
 * per room, run after every user, also in parallel. A failed action affects only its user: that
 * user's later actions still run, except after a failed `user.create` (nothing can follow) or a
 * timed-out action (its calls may still be in flight; only a lock, or kicks, still run, see
 * {@link stillToRun}). A failed power-level action affects only its room. Short-lived user
 * tokens are minted per user as needed and logged out when the user's actions are done or given
 * up; an action abandoned at its deadline cannot mint one after that (`UserTokenLease`).
 */
export async function applyPlan(actions: readonly Action[], options: ApplyPlanOptions): Promise<ApplyPlanResult> {
  const byUser = new Map<string, Action[]>();
  const corporalJoins: RoomCorporalJoinAction[] = [];
  const roomActions: RoomUsersSetPowerLevelsAction[] = [];
  for (const action of actions) {
    if (action.type === 'room.users_set_power_levels') {
      roomActions.push(action);
      continue;
    }
    if (action.type === 'room.corporal_join') {
      corporalJoins.push(action);
      continue;
    }
    const list = byUser.get(action.userId);
    if (list === undefined) byUser.set(action.userId, [action]);
    else list.push(action);
  }
  const result: ApplyPlanResult = {
    failedUsers: new Set(), failedRooms: new Map(), deferredUsers: new Set(), interrupted: false,
    corporalJoined: new Set(), corporalJoinFailed: new Set(), corporalJoinRefused: new Set(),
    locksLeftUnfinished: new Set(), locksFinished: new Set(),
  };
  const { progress } = options;
  const superseded = options.userSuperseded ?? ((): boolean => false);

  await mapBounded(corporalJoins, options.concurrency, async (action) => {
    if (options.shouldStop()) {
      result.interrupted = true;
      progress.actionsSkipped++;
      return;
    }
    const failure = await run(action, NO_USER_TOKENS, options);
    const outcome = failure === null ? result.corporalJoined : failure.retryable ? result.corporalJoinFailed : result.corporalJoinRefused;
    outcome.add(action.roomId);
  });

  await mapBounded([...byUser], options.concurrency, async ([userId, userActions]) => {
    const scope = new LeaseScope(options.ctx);
    const queue = [...userActions];
    try {
      for (let action = queue.shift(); action !== undefined; action = queue.shift()) {
        const interrupted = options.shouldStop();
        if (interrupted || superseded(userId)) {
          if (interrupted) result.interrupted = true;
          else result.deferredUsers.add(userId);
          progress.actionsSkipped += queue.length + 1;
          return;
        }
        const failure = await run(action, scope, options);
        const lock = lockOutcome(action, failure);
        if (lock !== null) (lock === 'left' ? result.locksLeftUnfinished : result.locksFinished).add(userId);
        if (failure === null) continue;
        result.failedUsers.add(userId);
        const kept = stillToRun(action, failure, queue);
        progress.actionsSkipped += queue.length - kept.length;
        queue.splice(0, queue.length, ...kept);
      }
    } finally {
      await scope.release();
    }
  });

  await mapBounded(roomActions, options.concurrency, async (action) => {
    if (options.shouldStop()) {
      result.interrupted = true;
      progress.actionsSkipped++;
      return;
    }
    // The entries of users a newer policy changed wait for their run; the others' levels come from
    // unchanged policy entries, and the write touches only the users it lists.
    const entries = Object.entries(action.levels).filter(([userId]) => {
      if (!superseded(userId)) return true;
      result.deferredUsers.add(userId);
      return false;
    });
    if (entries.length === 0) {
      progress.actionsSkipped++;
      return;
    }
    const levels = Object.fromEntries(entries);
    const failure = await run({ ...action, levels }, NO_USER_TOKENS, options);
    if (failure !== null) result.failedRooms.set(action.roomId, new Set(Object.keys(levels)));
  });
  return result;
}

/**
 * What of a user's `rest` of actions still runs after `action` failed: nothing after a failed
 * `user.create`. After a timed-out action, whose calls may still be in flight, the rest waits for
 * the retry, except the lock of a user the policy made inactive: nothing it does (cancel the
 * user's delayed events, lock, delete devices) depends on the timed-out action's calls, and
 * postponing it by a retry interval would leave the account usable by anyone who reaches Synapse
 * without going through the gateway. The marked display name planned before the lock
 * (`DeactivatedDisplayNameMarker`) is not written then: Synapse sends a name change into every room
 * the user is in as a join, and with a leave still in flight that join could put the user back into
 * a public room (verification 16b). The marker is planned at the transition only, so that account
 * keeps its name: a cosmetic loss, in a rare case, for a lock that does not wait. After a timed-out
 * `user.finish_lock` (the user decides how long its cancellations take) the kicks still run: they
 * are the corporal user's calls, and depend on none of the user's.
 */
function stillToRun(action: Action, failure: RunFailure, rest: readonly Action[]): readonly Action[] {
  if (action.type === 'user.create') return [];
  if (failure.code === ACTION_TIMEOUT) return rest.filter((next) => next.type === 'user.deactivate' || (action.type === 'user.finish_lock' && isKick(next)));
  return rest;
}

/** A kick by the corporal user: it uses none of the user's calls, so a timed-out `user.finish_lock` does not hold it up. */
function isKick(action: Action): boolean {
  return action.type === 'room.leave' && action.viaKick;
}

/**
 * What a lock action says of the account's lock: `finished` when it succeeded; `left` when a
 * `user.deactivate` failed after the lock (its delayed events not cancelled, its devices not
 * deleted; its other failures come before the lock, and the next observation plans it again) or
 * ran out of time (the lock may have happened, the rest may not), or when a `user.finish_lock`
 * failed; null for other actions.
 */
function lockOutcome(action: Action, failure: RunFailure | null): 'left' | 'finished' | null {
  if (action.type === 'user.finish_lock') return failure === null ? 'finished' : 'left';
  if (action.type !== 'user.deactivate') return null;
  if (failure === null) return 'finished';
  return LOCK_LEFT_UNFINISHED.has(failure.code) ? 'left' : null;
}

/** Failure codes of a `user.deactivate` after which the account may be locked with work left (see {@link lockOutcome}). */
const LOCK_LEFT_UNFINISHED: ReadonlySet<string> = new Set([DELAYED_EVENTS_NOT_CANCELLED, DEVICES_NOT_DELETED, ACTION_TIMEOUT]);

/** A failed action as {@link run} returns it: the failure recorded, and whether it may pass by itself ({@link isRetryable}). */
type ActionFailure = RunFailure & { readonly retryable: boolean };

/** Runs one action; records its failure (without `retryable`, which `/status` does not show) and returns it, or null. */
async function run(action: Action, scope: ActionScope, options: ApplyPlanOptions): Promise<ActionFailure | null> {
  const { ctx, progress } = options;
  const subject = subjectOf(action);
  try {
    await applyAction(action, ctx, scope, options.actionTimeoutMs);
    progress.actionsDone++;
    ctx.logger.info({ action: action.type, ...subject }, 'reconciliation action done');
    return null;
  } catch (err) {
    const failure: RunFailure = { ...subject, actionType: action.type, code: codeOf(err), error: describeError(err) };
    progress.actionsFailed++;
    progress.failures.push(failure);
    ctx.logger.warn({ action: action.type, ...subject, code: failure.code, err: failure.error }, 'reconciliation action failed');
    return { ...failure, retryable: isRetryable(err) };
  }
}

function subjectOf(action: Action): { userId?: string; roomId?: string } {
  if (action.type === 'room.users_set_power_levels' || action.type === 'room.corporal_join') return { roomId: action.roomId };
  if (action.type === 'room.join' || action.type === 'room.leave') return { userId: action.userId, roomId: action.roomId };
  return { userId: action.userId };
}

/** The `CORP_ERR_*` code of a failure (`CORP_ERR_INTERNAL` for anything that is not a Corporal error). */
export function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('CORP_ERR_') ? code : 'CORP_ERR_INTERNAL';
}

/**
 * One lease per user acted as, created on first use, all released together. A released scope
 * makes no new lease: an action abandoned at its deadline may ask for one afterwards.
 */
class LeaseScope implements ActionScope {
  readonly #ctx: ApplyContext;
  readonly #leases = new Map<string, UserTokenLease>();
  #released = false;

  constructor(ctx: ApplyContext) {
    this.#ctx = ctx;
  }

  userToken(userId: string): UserTokenLease {
    if (this.#released) throw leaseReleasedError(userId);
    let lease = this.#leases.get(userId);
    if (lease === undefined) {
      lease = new UserTokenLease(this.#ctx.http, this.#ctx.admin, userId, this.#ctx.logger);
      this.#leases.set(userId, lease);
    }
    return lease;
  }

  isReleased(): boolean {
    return this.#released;
  }

  async release(): Promise<void> {
    this.#released = true;
    await Promise.all([...this.#leases.values()].map((lease) => lease.release()));
  }
}

const NO_USER_TOKENS: ActionScope = {
  userToken(userId: string): never {
    throw new Error(`power-level actions and the corporal user's joins act as the corporal user, never as ${userId}`);
  },
};
