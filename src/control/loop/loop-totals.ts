import type { RunOutcome, RunSummary } from './run-summary.js';

/** What the loop has done since it started, for `GET /_matrix/corporal/metrics`. Plain data. */
export interface LoopTotals {
  /** Finished runs by kind and outcome (only those that happened). */
  runs: { kind: RunSummary['kind']; outcome: RunOutcome; count: number }[];
  /** Actions of every finished run. */
  actions: { done: number; failed: number; skipped: number };
  /** Failures by action type (or `observe` / `plan` for a run that failed before applying) and code. */
  failures: { actionType: string; code: string; count: number }[];
}

/**
 * Adds up finished runs ({@link RunSummary}) into counters that only grow, as Prometheus counters
 * must: the run summaries the status shows are replaced by the next run.
 */
export class LoopTotalsCounter {
  readonly #runs = new Map<string, { kind: RunSummary['kind']; outcome: RunOutcome; count: number }>();
  readonly #failures = new Map<string, { actionType: string; code: string; count: number }>();
  readonly #actions = { done: 0, failed: 0, skipped: 0 };

  /** Counts one finished run. */
  add(summary: RunSummary): void {
    bump(this.#runs, `${summary.kind} ${summary.outcome}`, () => ({ kind: summary.kind, outcome: summary.outcome, count: 0 }));
    this.#actions.done += summary.actionsDone;
    this.#actions.failed += summary.actionsFailed;
    this.#actions.skipped += summary.actionsSkipped;
    for (const failure of summary.failures) {
      bump(this.#failures, `${failure.actionType} ${failure.code}`, () => ({ actionType: failure.actionType, code: failure.code, count: 0 }));
    }
  }

  /** A copy of the counters. */
  totals(): LoopTotals {
    return {
      runs: [...this.#runs.values()].map((run) => ({ ...run })),
      actions: { ...this.#actions },
      failures: [...this.#failures.values()].map((failure) => ({ ...failure })),
    };
  }
}

function bump<T extends { count: number }>(counts: Map<string, T>, key: string, create: () => T): void {
  let entry = counts.get(key);
  if (entry === undefined) {
    entry = create();
    counts.set(key, entry);
  }
  entry.count += 1;
}
