import type { ActionType } from '../actions.js';
import type { PlanWarning, SkippedRoom } from '../plan/types.js';
import type { LoopTotals } from './loop-totals.js';

/** One failed action (or a failed observation/plan, `actionType` then names the phase). */
export interface RunFailure {
  userId?: string;
  roomId?: string;
  actionType: ActionType | 'observe' | 'plan';
  /** `CorporalError` code (`CORP_ERR_*`) or `CORP_ERR_INTERNAL`. */
  code: string;
  error: string;
}

/** Why a run ended. */
export type RunOutcome = 'running' | 'completed' | 'superseded' | 'failed' | 'stopped';

/** One reconciliation run, in progress or finished. Plain data (the HTTP API serialises it). */
export interface RunSummary {
  /** `full`: every policy user; `users`: only changed or retried users. */
  kind: 'full' | 'users';
  generation: number;
  startedAt: number;
  finishedAt: number | null;
  outcome: RunOutcome;
  /** Policy users this run looked at, of `usersTotal` in the policy. */
  usersObserved: number;
  usersTotal: number;
  actionsPlanned: number;
  actionsDone: number;
  actionsFailed: number;
  /**
   * Planned actions not attempted: their user failed earlier, a newer policy changed their user
   * (the run it queued does them), or the run was superseded/stopped.
   */
  actionsSkipped: number;
  failures: RunFailure[];
  warnings: PlanWarning[];
  skippedRooms: SkippedRoom[];
  /** Synapse requests the run made (observation included). */
  requests: number;
}

/** A scheduled retry of a failed user or room (or of a whole failed pass: neither id set). */
export interface PendingRetry {
  userId?: string;
  roomId?: string;
  /** Failures in a row so far. */
  attempt: number;
  /** Epoch ms of the next try. */
  dueAt: number;
}

/** What `ReconcileLoop.status()` reports. */
export interface LoopStatus {
  running: boolean;
  /** Generation of the policy being reconciled; null before the first policy. */
  policyGeneration: number | null;
  /** The run in progress, with live counters. */
  current: RunSummary | null;
  /** The last finished run. */
  lastRun: RunSummary | null;
  /**
   * The last full pass that completed or failed (`kind: "full"`; a superseded or stopped one does
   * not count). Retries and changed users
   * run as small runs that replace `lastRun` within seconds; this keeps the big picture.
   */
  lastFullRun: RunSummary | null;
  /** Epoch ms of the next periodic full pass; null when disabled or not yet scheduled. */
  nextResyncAt: number | null;
  retries: PendingRetry[];
  /** Everything the loop has done since it started (counters for metrics). */
  totals: LoopTotals;
}
