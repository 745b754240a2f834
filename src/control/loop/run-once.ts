import { describeError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import type { PlanOptions } from '../plan/types.js';
import type { Action } from '../actions.js';
import type { ApplyContext } from '../apply/apply-context.js';
import { observe, type ObserveOptions } from '../observe/observe.js';
import { applyPlan, codeOf, type ApplyPlanResult } from './apply-plan.js';
import type { Planner } from './planner.js';
import type { PlanWarningLog } from './plan-warning-log.js';
import type { RunSummary } from './run-summary.js';

/** What one run needs from the loop. */
export interface RunOnceDeps {
  ctx: ApplyContext;
  logger: Logger;
  planner: Planner;
  observeOptions: ObserveOptions;
  /** Planner options for this run (its user filter included). */
  plannerOptions: PlanOptions;
  /** Users (and then rooms) worked on at once. */
  concurrency: number;
  actionTimeoutMs: number;
  /** How often a long run logs its progress. */
  progressIntervalMs: number;
  now: () => number;
  /** Asked before every action: a newer policy for everyone arrived, or the loop stops. */
  shouldStop: () => boolean;
  /** Asked before each action of a user: a newer policy changed that user (`ApplyPlanOptions.userSuperseded`). */
  userSuperseded: (userId: string) => boolean;
  /** Whether the loop is stopping (an interrupted run is then `stopped`, not `superseded`). */
  stopping: () => boolean;
  /** Called once with the live summary, before anything is observed (`ReconcileLoop.status`). */
  started: (summary: RunSummary) => void;
  /** Logs the plan's warnings (the loop's one log: each warning once per policy generation). */
  warningLog: PlanWarningLog;
  /** Called with the plan's actions right before they are applied; must not reject. */
  beforeApply?: (actions: readonly Action[]) => Promise<void>;
}

/** A finished run: its summary, and what the apply phase left undone (null when observe or plan failed). */
export interface RunResult {
  summary: RunSummary;
  applied: ApplyPlanResult | null;
  /**
   * What the observation could not read for reasons that may pass (a timeout, a 5xx): a managed
   * room (`pass` in a full pass; in a run over some users, all of them) or a user's account data.
   * The run completes without it; the loop retries it.
   */
  readLater: ReadLater;
}

/** See {@link RunResult.readLater}. */
export interface ReadLater {
  pass: boolean;
  users: Set<string>;
}

/**
 * One reconciliation run over `users` (undefined: every policy user): observe → plan → apply,
 * with a progress line every `progressIntervalMs` and one line when it ends. Never rejects: a
 * failed observation or plan ends the run `failed` with the error in `summary.failures`. The
 * caller does the retry and resync bookkeeping from the result.
 */
export async function runOnce(policy: PolicySnapshot, users: ReadonlySet<string> | undefined, deps: RunOnceDeps): Promise<RunResult> {
  const { ctx, logger } = deps;
  const summary = newSummary(policy, users, deps.now());
  deps.started(summary);
  const requestsBefore = ctx.http.requestCount;
  const progressTimer = setInterval(() => {
    logger.info(
      { kind: summary.kind, generation: summary.generation, planned: summary.actionsPlanned, done: summary.actionsDone, failed: summary.actionsFailed },
      'reconciliation in progress',
    );
  }, deps.progressIntervalMs).unref();
  logger.info({ kind: summary.kind, generation: policy.generation, users: users?.size ?? policy.users.size }, 'reconciliation run started');
  let applied: ApplyPlanResult | null = null;
  const readLater: ReadLater = { pass: false, users: new Set() };
  let phase: 'observe' | 'plan' = 'observe';
  try {
    const observation = await observe(policy, { ...deps.observeOptions, ...(users ? { users } : {}) });
    summary.usersObserved = observation.usersObserved;
    phase = 'plan';
    const plan = deps.planner(observation.state, policy, deps.plannerOptions);
    summary.actionsPlanned = plan.actions.length;
    summary.warnings = plan.warnings;
    summary.skippedRooms = plan.skippedRooms;
    deps.warningLog.log(logger, policy.generation, plan.warnings);
    for (const skipped of plan.skippedRooms) logger.warn(skipped, 'managed room skipped');
    if ([...observation.state.rooms.values()].some((room) => !room.readable && room.retryable === true)) {
      if (users === undefined) readLater.pass = true;
      else for (const userId of users) readLater.users.add(userId);
    }
    for (const user of observation.state.users.values()) if (user.accountDataRetryable === true) readLater.users.add(user.id);
    await deps.beforeApply?.(plan.actions);
    applied = await applyPlan(plan.actions, {
      ctx,
      concurrency: deps.concurrency,
      actionTimeoutMs: deps.actionTimeoutMs,
      shouldStop: deps.shouldStop,
      userSuperseded: deps.userSuperseded,
      progress: summary,
    });
    summary.outcome = !applied.interrupted ? 'completed' : deps.stopping() ? 'stopped' : 'superseded';
  } catch (err) {
    summary.outcome = deps.stopping() ? 'stopped' : 'failed';
    summary.failures.push({ actionType: phase, code: codeOf(err), error: describeError(err) });
    logger.error({ kind: summary.kind, phase, err: describeError(err) }, 'reconciliation run failed');
  } finally {
    clearInterval(progressTimer);
    summary.finishedAt = deps.now();
    summary.requests = ctx.http.requestCount - requestsBefore;
  }
  logFinished(logger, summary);
  return { summary, applied, readLater };
}

function newSummary(policy: PolicySnapshot, users: ReadonlySet<string> | undefined, startedAt: number): RunSummary {
  return {
    kind: users === undefined ? 'full' : 'users',
    generation: policy.generation,
    startedAt,
    finishedAt: null,
    outcome: 'running',
    usersObserved: 0,
    usersTotal: policy.users.size,
    actionsPlanned: 0,
    actionsDone: 0,
    actionsFailed: 0,
    actionsSkipped: 0,
    failures: [],
    warnings: [],
    skippedRooms: [],
    requests: 0,
  };
}

function logFinished(logger: Logger, summary: RunSummary): void {
  logger.info(
    {
      kind: summary.kind,
      generation: summary.generation,
      outcome: summary.outcome,
      users: `${summary.usersObserved}/${summary.usersTotal}`,
      planned: summary.actionsPlanned,
      done: summary.actionsDone,
      failed: summary.actionsFailed,
      skipped: summary.actionsSkipped,
      // Managed rooms the pass could not read: nothing was planned there (operator review 22, #2).
      skippedRooms: summary.skippedRooms.length,
      warnings: summary.warnings.length,
      requests: summary.requests,
      ms: (summary.finishedAt ?? summary.startedAt) - summary.startedAt,
    },
    'reconciliation run finished',
  );
}
