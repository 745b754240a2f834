/**
 * Reconciler targets against a real Synapse (the pinned test homeserver on SQLite or on a private
 * PostgreSQL cluster, 2-core machine):
 *   1. 1,000 users × 5 managed rooms from an empty server: time to converge (the first pass, plus
 *      follow-up passes for actions that failed, as resync and retries would do), requests made;
 *   2. a no-op full pass over those users: requests per user (target ≤ 3) and time;
 *   3. one user's policy entry changed: only that user's actions run.
 * Usage: `npm run build && node dist/bench/reconcile.js [users] [rooms] [--database=sqlite|postgres]
 * [--concurrency=N]` (defaults 1000, 5, sqlite, 8); writes
 * bench/results/reconcile-<database>-c<concurrency>-<users>x<rooms>.json.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createSilentLogger } from '../src/common/logger.js';
import { startReconciler } from '../src/control/loop/create-reconciler.js';
import type { RunSummary } from '../src/control/loop/run-summary.js';
import { createRoom } from '../test/support/matrix-client.js';
import { startSynapse, type SynapseDatabase } from '../test/support/start-synapse.js';
import { reconcilerConfig, snapshot, type UserSpec } from '../test/integration/control/fixtures/reconciler.js';
import { planReconciliation } from '../src/control/plan/index.js';

const args = parseArgs({ allowPositionals: true, options: { database: { type: 'string', default: 'sqlite' }, concurrency: { type: 'string', default: '8' } } });
const userCount = Number(args.positionals[0] ?? 1000);
const roomCount = Number(args.positionals[1] ?? 5);
const concurrency = Number(args.values.concurrency);
const database = args.values.database as SynapseDatabase;
if (database !== 'sqlite' && database !== 'postgres') throw new Error(`--database must be sqlite or postgres, not ${String(database)}`);
for (const [name, value] of [['users', userCount], ['rooms', roomCount], ['--concurrency', concurrency]] as const) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
}

/** CPU seconds (user + system) used so far by `pid`, with its exited children; by its live children too when asked (PostgreSQL's backends). */
function cpuSeconds(pid: number, liveChildren = false): number {
  const ticks = (stat: string, from: number, to: number): number =>
    stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(from - 3, to - 2).reduce((sum, field) => sum + Number(field), 0);
  let total = ticks(readFileSync(`/proc/${pid}/stat`, 'utf8'), 14, 17);
  if (liveChildren) {
    for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (ticks(stat, 4, 4) === pid) total += ticks(stat, 14, 15);
      } catch {
        // gone meanwhile
      }
    }
  }
  return total / 100; // USER_HZ
}

const hs = await startSynapse({ adminLocalpart: 'harness', database });
const reconciler = await startReconciler({ config: reconcilerConfig(hs, { timeoutMs: 45_000, reconciliation: { Concurrency: concurrency } }), planner: planReconciliation, logger: createSilentLogger() });
try {
  const token = await reconciler.session.token();
  const rooms: string[] = [];
  for (let i = 0; i < roomCount; i++) rooms.push(await createRoom(hs.baseUrl, token, { preset: i % 2 === 0 ? 'public_chat' : 'private_chat' }));
  const users: UserSpec[] = Array.from({ length: userCount }, (_, i) => ({
    id: `@user${String(i).padStart(5, '0')}:localhost`,
    displayName: `User ${i}`,
    joinedRooms: rooms.map((roomId): [string, number] => [roomId, i % 10 === 0 ? 50 : 0]),
  }));

  const cpu = (): { synapse: number; postgres: number } => ({ synapse: cpuSeconds(hs.pid), postgres: hs.postgres ? cpuSeconds(hs.postgres.pid, true) : 0 });
  const run = async (label: string, apply: () => void): Promise<RunSummary & { ms: number; cpuSeconds: { synapse: number; postgres: number } }> => {
    const started = performance.now();
    const cpuBefore = cpu();
    apply();
    await reconciler.loop.idle();
    const ms = Math.round(performance.now() - started);
    const cpuAfter = cpu();
    const cpuSeconds = { synapse: Math.round((cpuAfter.synapse - cpuBefore.synapse) * 10) / 10, postgres: Math.round((cpuAfter.postgres - cpuBefore.postgres) * 10) / 10 };
    const summary = reconciler.loop.status().lastRun;
    if (summary === null) throw new Error('no run');
    process.stdout.write(
      `${label}: ${ms} ms, outcome ${summary.outcome}, users ${summary.usersObserved}/${summary.usersTotal}, actions ${summary.actionsDone} done / ${summary.actionsFailed} failed / ${summary.actionsPlanned} planned, ${summary.requests} requests (${(summary.requests / Math.max(1, summary.usersObserved)).toFixed(2)} per user), CPU s: Synapse ${cpuSeconds.synapse}, PostgreSQL ${cpuSeconds.postgres}\n`,
    );
    return { ...summary, ms, cpuSeconds };
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
    cpuSeconds: {
      synapse: Math.round(converged.reduce((sum, pass) => sum + pass.cpuSeconds.synapse, 0) * 10) / 10,
      postgres: Math.round(converged.reduce((sum, pass) => sum + pass.cpuSeconds.postgres, 0) * 10) / 10,
    },
    failures: converged.flatMap((pass) => pass.failures),
  };
  const changed = users[Math.floor(userCount / 2)] as UserSpec;
  const edited = users.map((user) => (user === changed ? { ...user, displayName: 'Renamed' } : user));
  const one = await run(`one user changed (${changed.id})`, () => reconciler.loop.onPolicy(snapshot(2, rooms, edited), new Set([changed.id])));

  const result = {
    date: new Date().toISOString(),
    synapse: `1.163.2 (${database === 'postgres' ? `PostgreSQL ${await hs.postgres!.query('SHOW server_version')}, fsync off` : 'SQLite'}, test harness)`,
    users: userCount,
    rooms: roomCount,
    concurrency,
    callTimeoutMs: 45_000,
    converge: { ms: converge.ms, cpuSeconds: converge.cpuSeconds, passes: converge.passes, actionsDone: converge.actionsDone, actionsFailed: converge.actionsFailed, requests: converge.requests, firstPass: { ms: first.ms, actionsPlanned: first.actionsPlanned, actionsFailed: first.actionsFailed, requests: first.requests } },
    noopPass: { ms: noop.ms, cpuSeconds: noop.cpuSeconds, actionsPlanned: noop.actionsPlanned, requests: noop.requests, requestsPerUser: noop.requests / userCount },
    oneUserChanged: { ms: one.ms, usersObserved: one.usersObserved, actionsPlanned: one.actionsPlanned, actionsDone: one.actionsDone, requests: one.requests },
    failures: [...converge.failures, ...noop.failures, ...one.failures].slice(0, 20),
  };
  await mkdir(new URL('../../bench/results/', import.meta.url), { recursive: true });
  await writeFile(new URL(`../../bench/results/reconcile-${database}-c${concurrency}-${userCount}x${roomCount}.json`, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  if (noop.actionsPlanned !== 0 || noop.requests / userCount > 3 || one.actionsPlanned !== 1 || one.usersObserved !== 1) {
    process.stdout.write(`TARGET MISSED: ${JSON.stringify(result)}\n`);
    process.exitCode = 1;
  }
} finally {
  await reconciler.close();
  await hs.stop();
}
