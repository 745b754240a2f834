import t from 'tap';
import { LoopTotalsCounter } from '../../../../src/control/loop/loop-totals.js';
import type { RunSummary } from '../../../../src/control/loop/run-summary.js';

const run = (overrides: Partial<RunSummary>): RunSummary => ({
  kind: 'full', generation: 1, startedAt: 0, finishedAt: 1, outcome: 'completed', usersObserved: 0, usersTotal: 0, actionsPlanned: 0,
  actionsDone: 0, actionsFailed: 0, actionsSkipped: 0, failures: [], warnings: [], skippedRooms: [], requests: 0, ...overrides,
});

t.test('finished runs add up into counters that only grow', async (t) => {
  const counter = new LoopTotalsCounter();
  t.same(counter.totals(), { runs: [], actions: { done: 0, failed: 0, skipped: 0 }, failures: [] });
  counter.add(run({ actionsDone: 3, actionsFailed: 2, failures: [
    { actionType: 'room.join', code: 'CORP_ERR_UPSTREAM', error: 'x', userId: '@a:example.com' },
    { actionType: 'room.join', code: 'CORP_ERR_UPSTREAM', error: 'y', userId: '@b:example.com' },
  ] }));
  counter.add(run({ kind: 'users', outcome: 'failed', failures: [{ actionType: 'observe', code: 'CORP_ERR_TIMEOUT', error: 'z' }] }));
  counter.add(run({ actionsDone: 1, actionsSkipped: 4 }));
  const totals = counter.totals();
  t.same(totals, {
    runs: [{ kind: 'full', outcome: 'completed', count: 2 }, { kind: 'users', outcome: 'failed', count: 1 }],
    actions: { done: 4, failed: 2, skipped: 4 },
    failures: [{ actionType: 'room.join', code: 'CORP_ERR_UPSTREAM', count: 2 }, { actionType: 'observe', code: 'CORP_ERR_TIMEOUT', count: 1 }],
  });
  totals.actions.done = 99;
  (totals.runs[0] as { count: number }).count = 99;
  t.equal(counter.totals().actions.done, 4, 'a copy: the caller cannot change the counters');
  t.equal(counter.totals().runs[0]?.count, 2);
});
