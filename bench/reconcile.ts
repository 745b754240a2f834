/**
 * Reconciler targets against a real Synapse (the pinned test homeserver, SQLite, 2-core machine):
 *   1. 1,000 users × 5 managed rooms from an empty server: time to converge (the first pass, plus
 *      follow-up passes for actions that failed, as resync and retries would do), requests made;
 *   2. a no-op full pass over those users: requests per user (target ≤ 3) and time;
 *   3. one user's policy entry changed: only that user's actions run.
 * Usage: `npm run build && node dist/bench/reconcile.js [users] [rooms]`; writes
 * bench/results/reconcile.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createSilentLogger } from '../src/common/logger.js';
import { startReconciler } from '../src/control/loop/create-reconciler.js';
import type { RunSummary } from '../src/control/loop/run-summary.js';
import { createRoom } from '../test/support/matrix-client.js';
import { startSynapse } from '../test/support/start-synapse.js';
import { reconcilerConfig, snapshot, type UserSpec } from '../test/integration/control/fixtures/reconciler.js';
import { planReconciliation } from '../src/control/plan/index.js';

const userCount = Number(process.argv[2] ?? 1000);
const roomCount = Number(process.argv[3] ?? 5);

const hs = await startSynapse({ adminLocalpart: 'harness' });
const reconciler = await startReconciler({ config: reconcilerConfig(hs, { timeoutMs: 45_000, reconciliation: { Concurrency: 8 } }), planner: planReconciliation, logger: createSilentLogger() });
try {
  const token = await reconciler.session.token();
  const rooms: string[] = [];
  for (let i = 0; i < roomCount; i++) rooms.push(await createRoom(hs.baseUrl, token, { preset: i % 2 === 0 ? 'public_chat' : 'private_chat' }));
  const users: UserSpec[] = Array.from({ length: userCount }, (_, i) => ({
    id: `@user${String(i).padStart(5, '0')}:localhost`,
    displayName: `User ${i}`,
    joinedRooms: rooms.map((roomId): [string, number] => [roomId, i % 10 === 0 ? 50 : 0]),
  }));

  const run = async (label: string, apply: () => void): Promise<RunSummary & { ms: number }> => {
    const started = performance.now();
    apply();
    await reconciler.loop.idle();
    const ms = Math.round(performance.now() - started);
    const summary = reconciler.loop.status().lastRun;
    if (summary === null) throw new Error('no run');
    process.stdout.write(
      `${label}: ${ms} ms, outcome ${summary.outcome}, users ${summary.usersObserved}/${summary.usersTotal}, actions ${summary.actionsDone} done / ${summary.actionsFailed} failed / ${summary.actionsPlanned} planned, ${summary.requests} requests (${(summary.requests / Math.max(1, summary.usersObserved)).toFixed(2)} per user)\n`,
    );
    return { ...summary, ms };
  };

  const first = await run(`first pass, ${userCount} users × ${roomCount} rooms`, () => reconciler.loop.onPolicy(snapshot(1, rooms, users), 'all'));
  const passes = [first];
  let noop = first;
  for (let pass = 2; pass <= 4 && noop.actionsPlanned > 0; pass++) {
    noop = await run(pass === 2 && first.actionsFailed === 0 ? 'no-op full pass' : `full pass ${pass}`, () => reconciler.loop.trigger());
    passes.push(noop);
  }
  const converged = passes.slice(0, -1);
  const converge = {
    ms: converged.reduce((sum, pass) => sum + pass.ms, 0),
    passes: converged.length,
    actionsDone: converged.reduce((sum, pass) => sum + pass.actionsDone, 0),
    actionsFailed: converged.reduce((sum, pass) => sum + pass.actionsFailed, 0),
    requests: converged.reduce((sum, pass) => sum + pass.requests, 0),
    failures: converged.flatMap((pass) => pass.failures),
  };
  const changed = users[Math.floor(userCount / 2)] as UserSpec;
  const edited = users.map((user) => (user === changed ? { ...user, displayName: 'Renamed' } : user));
  const one = await run(`one user changed (${changed.id})`, () => reconciler.loop.onPolicy(snapshot(2, rooms, edited), new Set([changed.id])));

  const result = {
    date: new Date().toISOString(),
    synapse: '1.163.2 (SQLite, test harness)',
    users: userCount,
    rooms: roomCount,
    concurrency: 8,
    callTimeoutMs: 45_000,
    converge: { ms: converge.ms, passes: converge.passes, actionsDone: converge.actionsDone, actionsFailed: converge.actionsFailed, requests: converge.requests, firstPass: { ms: first.ms, actionsPlanned: first.actionsPlanned, actionsFailed: first.actionsFailed, requests: first.requests } },
    noopPass: { ms: noop.ms, actionsPlanned: noop.actionsPlanned, requests: noop.requests, requestsPerUser: noop.requests / userCount },
    oneUserChanged: { ms: one.ms, usersObserved: one.usersObserved, actionsPlanned: one.actionsPlanned, actionsDone: one.actionsDone, requests: one.requests },
    failures: [...converge.failures, ...noop.failures, ...one.failures].slice(0, 20),
  };
  await mkdir(new URL('../../bench/results/', import.meta.url), { recursive: true });
  await writeFile(new URL('../../bench/results/reconcile.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  if (noop.actionsPlanned !== 0 || noop.requests / userCount > 3 || one.actionsPlanned !== 1 || one.usersObserved !== 1) {
    process.stdout.write(`TARGET MISSED: ${JSON.stringify(result)}\n`);
    process.exitCode = 1;
  }
} finally {
  await reconciler.close();
  await hs.stop();
}
