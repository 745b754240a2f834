import t from 'tap';
import { STATUS_LIST_LIMIT } from '../../../../src/control/http-api/status-route.js';
import type { RunFailure, RunSummary } from '../../../../src/control/loop/run-summary.js';
import type { ReconcilerHostStatus } from '../../../../src/control/reconciler-host.js';
import { captureLogger, testStore } from '../../../support/control-plane.js';
import { statusBody as statusBodyOf, type StatusBody } from '../../../support/status-body.js';

/**
 * The status answer stays small whatever the reconciler went through: each list is cut to
 * STATUS_LIST_LIMIT entries and the rest counted, so that a monitor polling it (the readiness
 * check) never reads tens of MiB after a run that failed for every user of a large policy.
 */
const { logger } = captureLogger();
const { store } = testStore({ logger });

function failures(count: number): RunFailure[] {
  return Array.from({ length: count }, (_, i) => ({ userId: `@u${i}:example.com`, actionType: 'user.create', code: 'CORP_ERR_UPSTREAM_UNREACHABLE', error: 'down' }));
}

function lastRun(failed: number): RunSummary {
  return {
    kind: 'full', generation: 1, startedAt: 0, finishedAt: 1, outcome: 'completed', usersObserved: failed, usersTotal: failed,
    actionsPlanned: failed, actionsDone: 0, actionsFailed: failed, actionsSkipped: 0, failures: failures(failed), warnings: [], skippedRooms: [], requests: failed,
  };
}

function reconciler(failed: number, retries: number): ReconcilerHostStatus {
  return {
    state: 'ready', readyAt: 0, failedAttempts: 0, lastError: null, nextAttemptAt: null,
    loop: {
      running: false, policyGeneration: 1, current: null, lastRun: lastRun(failed), lastFullRun: lastRun(failed), nextResyncAt: null,
      // Due times out of order: the status shows the soonest first.
      retries: Array.from({ length: retries }, (_, i) => ({ userId: `@u${i}:example.com`, attempt: 1, dueAt: (i * 7919) % retries })),
      totals: { runs: [], actions: { done: 0, failed: 0, skipped: 0 }, failures: [] },
    },
  };
}

async function statusBody(status: ReconcilerHostStatus): Promise<StatusBody> {
  return statusBodyOf(status, store, logger);
}

t.test('long lists are cut, and what was left out is counted', async (t) => {
  const body = await statusBody(reconciler(STATUS_LIST_LIMIT + 150, STATUS_LIST_LIMIT + 7));
  const run = body.reconciler.lastRun;
  t.equal((run['failures'] as unknown[]).length, STATUS_LIST_LIMIT);
  t.equal(run['failuresOmitted'], 150);
  t.equal(run['actionsFailed'], STATUS_LIST_LIMIT + 150, 'the counters stay exact');
  t.equal((body.reconciler['retries'] as unknown[]).length, STATUS_LIST_LIMIT);
  t.equal(body.reconciler['retriesOmitted'], 7);
  t.ok(JSON.stringify(body).length < 64 * 1024, 'the answer stays small');
});

t.test('short lists are shown whole, without an omitted count', async (t) => {
  const body = await statusBody(reconciler(STATUS_LIST_LIMIT, 3));
  const run = body.reconciler.lastRun;
  t.equal((run['failures'] as unknown[]).length, STATUS_LIST_LIMIT);
  t.notOk('failuresOmitted' in run);
  t.notOk('warningsOmitted' in run);
  t.equal((body.reconciler['retries'] as unknown[]).length, 3);
  t.notOk('retriesOmitted' in body.reconciler);
});

t.test('a run counts its failures by code over the whole list, next to the capped list', async (t) => {
  const status = reconciler(STATUS_LIST_LIMIT + 150, 0);
  const run = status.loop!.lastRun!;
  run.failures[STATUS_LIST_LIMIT + 120] = { userId: '@x:example.com', actionType: 'room.join', code: 'CORP_ERR_FORBIDDEN', error: 'no' };
  const shown = (await statusBody(status)).reconciler.lastRun;
  t.same(shown['failuresByCode'], { CORP_ERR_UPSTREAM_UNREACHABLE: STATUS_LIST_LIMIT + 149, CORP_ERR_FORBIDDEN: 1 }, 'an omitted failure still counts');
  const keys = Object.keys(shown);
  t.same(keys.slice(keys.indexOf('failuresByCode'), keys.indexOf('failuresByCode') + 3), ['failuresByCode', 'failures', 'failuresOmitted'], 'the omitted count follows its list');
  t.equal(shown['startedAt'], new Date(0).toISOString());
});

t.test('retries are listed soonest first, so that the capped list shows what comes next', async (t) => {
  const body = await statusBody(reconciler(0, STATUS_LIST_LIMIT + 50));
  const dueTimes = (body.reconciler['retries'] as Array<{ dueAt: string }>).map((retry) => Date.parse(retry.dueAt));
  t.same(dueTimes, Array.from({ length: STATUS_LIST_LIMIT }, (_, i) => i));
});

t.test('the last full pass is shown beside the last run', async (t) => {
  const status = reconciler(3, 0);
  status.loop!.lastRun = { ...lastRun(1), kind: 'users', outcome: 'failed' };
  const body = await statusBody(status);
  t.match(body.reconciler, { lastRun: { kind: 'users', outcome: 'failed' }, lastFullRun: { kind: 'full', actionsFailed: 3, failuresByCode: { CORP_ERR_UPSTREAM_UNREACHABLE: 3 } } });
});
