/**
 * Hook engine benchmarks that need no gateway (the autocannon scenarios through the real gateway
 * are in `bench/run.ts`):
 *
 * - `match`: the per-request cost of the hook phases of a catch-all request when the policy has 20
 *   hooks that do not match it (route rules on other paths) versus no hooks: `runBefore` +
 *   `scheduleAfter` on a fresh `HookRequest`, ns per request.
 * - `consult`: a matching `consult.RESTServiceURL` before-hook against a local hook REST service
 *   (in its own worker thread, so it does not share the measuring thread's event loop), with 64
 *   requests in flight: throughput and latency percentiles, pooled (the gateway's Piscina pool,
 *   1 thread, `ConcurrentTasksPerWorker` 32) versus in-thread (the same code without the pool).
 *
 * Run: `node dist/bench/hooks-engine.js [seconds-per-consult-run]`. Writes bench/results/hooks-engine.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { Agent } from 'undici';
import { createSilentLogger } from '../src/common/logger.js';
import { createDirectConsultor, createPooledConsultor, type HookConsultor } from '../src/gateway/hooks/consultor.js';
import { CATCH_ALL_AUTHENTICATED } from '../src/gateway/hooks/hook-events.js';
import { HookEngine } from '../src/gateway/hooks/hook-engine.js';
import { HookRequest } from '../src/gateway/hooks/hook-request.js';
import { compilePolicy } from '../src/policy/compile.js';
import { hashPolicy } from '../src/policy/hash.js';
import { loadPolicyValue } from '../src/policy/load.js';
import type { PolicySnapshot } from '../src/policy/snapshot.js';
import { createOffloadPool } from '../src/offload/pool.js';
import { startHookRestService } from '../test/support/hook-rest-service.js';

const HEADERS = ['host', 'matrix.example.com', 'authorization', 'Bearer abc', 'content-type', 'application/json', 'user-agent', 'bench'];
const BODY = Buffer.from('{"msgtype":"m.text","body":"hello"}');
const IN_FLIGHT = 64;

function snapshotWith(hooks: object[]): PolicySnapshot {
  const loaded = loadPolicyValue({ schemaVersion: 2, hooks, users: [] }, { homeserverDomain: 'example.com' });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return compilePolicy(loaded.document, { generation: 1, hash: hashPolicy(loaded.document), loadedAt: 0, source: 'bench' });
}

function request(rawPath: string): HookRequest {
  return new HookRequest({ method: 'PUT', rawPath, rawQuery: '', userId: '@alice:example.com', headers: HEADERS, forwardedFor: () => '127.0.0.1', peerTrusted: true, readBody: () => Promise.resolve(BODY) });
}

/** 20 hooks over all event types of a catch-all request, none matching a send-message request. */
function nonMatchingHooks(): object[] {
  const eventTypes = ['beforeAnyRequest', 'beforeAuthenticatedRequest', 'afterAnyRequest', 'afterAuthenticatedRequest'];
  return Array.from({ length: 20 }, (_, i) => ({
    id: `h${i}`,
    eventType: eventTypes[i % eventTypes.length],
    action: 'reject',
    rejectionErrorCode: 'M_FORBIDDEN',
    rejectionErrorMessage: 'no',
    routeMatchesRegex: `^/_matrix/client/(r0|v3)/rooms/[^/]+/(ban|kick|invite${i})$`,
  }));
}

function benchMatch(engine: HookEngine, snapshot: PolicySnapshot, iterations: number): number {
  const path = '/_matrix/client/v3/rooms/!room%3Aexample.com/send/m.room.message/txn';
  let plans = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const req = request(path);
    const outcome = engine.runBefore(snapshot, CATCH_ALL_AUTHENTICATED.before, req);
    if (outcome instanceof Promise) throw new Error('a hook matched');
    if (engine.scheduleAfter(snapshot, CATCH_ALL_AUTHENTICATED.after, req) !== null) plans++;
  }
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  if (plans !== 0) throw new Error('an after-hook matched');
  return ns;
}

interface ConsultRun {
  mode: string;
  requests: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
}

async function benchConsult(mode: string, consultor: HookConsultor, url: string, seconds: number): Promise<ConsultRun> {
  const engine = new HookEngine({ consultor, logger: createSilentLogger(), maxInspectedBodyBytes: 1 << 20 });
  const snapshot = snapshotWith([{ id: 'consult', eventType: 'beforeAnyRequest', action: 'consult.RESTServiceURL', RESTServiceURL: url }]);
  const path = '/_matrix/client/v3/rooms/!room%3Aexample.com/send/m.room.message/txn';
  const latencies: number[] = [];
  let failures = 0;
  const runFor = async (ms: number, record: boolean): Promise<void> => {
    const until = performance.now() + ms;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        const outcome = await engine.runBefore(snapshot, CATCH_ALL_AUTHENTICATED.before, request(path));
        if (!record) continue;
        latencies.push(performance.now() - started);
        if (outcome.kind !== 'continue') failures++;
      }
    }));
  };
  await runFor(1000, false);
  const started = performance.now();
  await runFor(seconds * 1000, true);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2));
  return { mode, requests: latencies.length, perSecond: Math.round(latencies.length / elapsed), p50Ms: at(0.5), p99Ms: at(0.99), failures };
}

async function serviceThread(): Promise<void> {
  const service = await startHookRestService({ record: false });
  parentPort!.postMessage(service.origin);
  parentPort!.once('message', () => void service.close().then(() => process.exit(0)));
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const empty = snapshotWith([]);
  const twenty = snapshotWith(nonMatchingHooks());
  const matchEngine = new HookEngine({ consultor: createDirectConsultor(new Agent()), logger: createSilentLogger(), maxInspectedBodyBytes: 1 << 20 });
  benchMatch(matchEngine, empty, 200_000);
  benchMatch(matchEngine, twenty, 200_000);
  const match = { noHooksNs: Math.round(benchMatch(matchEngine, empty, 1_000_000)), twentyNonMatchingNs: Math.round(benchMatch(matchEngine, twenty, 1_000_000)) };
  console.log(`match: no hooks ${match.noHooksNs} ns/request, 20 non-matching hooks ${match.twentyNonMatchingNs} ns/request`);

  const worker = new Worker(fileURLToPath(import.meta.url));
  const origin = await new Promise<string>((resolve) => worker.once('message', resolve));
  const url = `${origin}/dump`;
  const pool = createOffloadPool({ Threads: 1, MaxQueue: 512, ConcurrentTasksPerWorker: 32 }, { logger: createSilentLogger() });
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: 128 });
  const consult: ConsultRun[] = [];
  for (const [mode, consultor] of [['pooled', createPooledConsultor(pool)], ['in-thread', createDirectConsultor(dispatcher)]] as const) {
    const run = await benchConsult(mode, consultor, url, seconds);
    consult.push(run);
    console.log(`consult ${mode}: ${run.perSecond} req/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms (${run.requests} requests, ${run.failures} failed)`);
  }
  await pool.close();
  await dispatcher.close();
  worker.postMessage('stop');
  await new Promise((resolve) => worker.once('exit', resolve));

  const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'hooks-engine.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, inFlight: IN_FLIGHT, seconds, match, consult }, null, 2) + '\n');
  console.log(`written ${out}`);
}

if (isMainThread) await main();
else await serviceThread();
