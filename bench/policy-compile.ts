/**
 * Policy pipeline benchmark: a generated policy of 100,000 users × 10 managed rooms + 50 hooks
 * goes through parse → normalise → validate → compile (+ hash), then the compiled snapshot is
 * delivered to 2 worker threads in two ways:
 *
 * - `clone`: what the architecture does today: the snapshot (Maps of plain objects) crosses the
 *   control child → supervisor IPC (`serialization: 'advanced'` = v8.serialize/deserialize) and is
 *   then `postMessage`d (structured clone) to every thread;
 * - `bytes`: `encodeSnapshot` once in the control child, the bytes cross IPC, the supervisor copies
 *   them into one SharedArrayBuffer that every thread reads without a copy and decodes itself.
 *
 * For each it reports the time until both threads hold a usable snapshot and the heap each thread
 * keeps for it (measured after a forced GC). Run: `node dist/bench/policy-compile.js [users]`.
 * Writes bench/results/policy-compile.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { compilePolicy } from '../src/policy/compile.js';
import { hashPolicy } from '../src/policy/hash.js';
import { normalisePolicy } from '../src/policy/normalise.js';
import { parsePolicyText } from '../src/policy/parse.js';
import type { PolicySnapshot } from '../src/policy/snapshot.js';
import { decodeSnapshot, encodeSnapshot } from '../src/policy/transport.js';
import { validatePolicy } from '../src/policy/validate.js';

const DOMAIN = 'example.com';
const ROOMS_PER_USER = 10;
const MANAGED_ROOMS = 1000;
const HOOKS = 50;
const THREADS = 2;

type WorkerRequest =
  | { kind: 'baseline' }
  | { kind: 'clone'; snapshot: PolicySnapshot }
  | { kind: 'bytes'; buffer: SharedArrayBuffer; length: number };
interface WorkerReply {
  receivedAt: number;
  usableAt: number;
  /** V8 heap in use after a forced GC, with the snapshot (if any) still referenced. */
  heapAfter: number;
  users: number;
  /** Mean cost of `users.get` + reading one joined room, over LOOKUPS look-ups of distinct users. */
  lookupNs: number;
}

const LOOKUPS = 20_000;

function forceGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Wall-clock ms since the time origin shared by all threads of the process. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

function generatePolicy(userCount: number): string {
  const rooms = Array.from({ length: MANAGED_ROOMS }, (_, i) => `!room${String(i).padStart(4, '0')}:${DOMAIN}`);
  const authTypes = ['plain', 'sha256', 'bcrypt', 'passthrough', 'rest'] as const;
  const credential = (type: (typeof authTypes)[number], i: number): string => {
    switch (type) {
      case 'sha256': return i.toString(16).padStart(64, 'a');
      case 'bcrypt': return `$2b$12$${'abcdefghijklmnopqrstuv'}${i.toString(36).padStart(31, 'x')}`;
      case 'rest': return 'https://auth.example.com/_matrix-internal/identity/v1/check_credentials';
      default: return `password-${i}`;
    }
  };
  const users = Array.from({ length: userCount }, (_, i) => {
    const authType = authTypes[i % authTypes.length] ?? 'plain';
    return {
      id: `@user${i}:${DOMAIN}`,
      active: i % 50 !== 0,
      authType,
      authCredential: credential(authType, i),
      displayName: `User ${i}`,
      avatarUri: i % 10 === 0 ? `https://example.com/avatars/${i}.png` : '',
      joinedRooms: Array.from({ length: ROOMS_PER_USER }, (_, k) => ({ roomId: rooms[(i * 7 + k * 97) % MANAGED_ROOMS], powerLevel: k === 0 ? 50 : 0 })),
      ...(i % 100 === 0 ? { forbidRoomCreation: true } : {}),
    };
  });
  const hooks = Array.from({ length: HOOKS }, (_, i) => ({
    id: `hook-${i}`,
    eventType: i % 2 === 0 ? 'beforeAuthenticatedRequest' : 'afterAnyRequest',
    matchRules: [
      { type: 'route', regex: `^/_matrix/client/(?:r0|v3)/rooms/[^/]+/send/m\\.custom${i}` },
      { type: 'method', regex: '(?i)^(PUT|POST)$' },
    ],
    action: i % 5 === 0 ? 'consult.RESTServiceURL' : 'reject',
    ...(i % 5 === 0
      ? { RESTServiceURL: `https://hooks.example.com/${i}`, RESTServiceContingencyHook: { action: 'pass.unmodified' } }
      : { rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: `hook ${i}` }),
  }));
  const policy = { schemaVersion: 2, flags: { allowCustomUserDisplayNames: true }, managedRoomIds: rooms, hooks, users };
  return JSON.stringify(policy, null, '\t');
}

function timed<T>(run: () => T): [T, number] {
  const start = performance.now();
  const value = run();
  return [value, performance.now() - start];
}

function pipeline(text: string): { snapshot: PolicySnapshot; ms: Record<string, number> } {
  const [parsed, parse] = timed(() => parsePolicyText(text));
  if (!parsed.ok) throw new Error(`generated policy does not parse: ${parsed.error.message}`);
  const [normalised, normalise] = timed(() => normalisePolicy(parsed.value));
  const [findings, validate] = timed(() => validatePolicy(normalised.document, { homeserverDomain: DOMAIN }));
  if (normalised.errors.length + findings.errors.length > 0) {
    throw new Error(`generated policy is invalid: ${JSON.stringify([...normalised.errors, ...findings.errors].slice(0, 3))}`);
  }
  const [hash, hashMs] = timed(() => hashPolicy(normalised.document));
  const [snapshot, compile] = timed(() => compilePolicy(normalised.document, { generation: 1, hash, loadedAt: Date.now(), source: 'bench' }));
  const total = parse + normalise + validate + compile;
  return { snapshot, ms: { parse, normalise, validate, compile, total, hash: hashMs, totalWithHash: total + hashMs } };
}

function ask(worker: Worker, request: WorkerRequest): Promise<WorkerReply> {
  return new Promise<WorkerReply>((resolve) => {
    worker.once('message', resolve);
    worker.postMessage(request);
  });
}

async function deliver(workers: Worker[], send: (worker: Worker) => void): Promise<{ ms: number; heapPerThreadMiB: number[]; lookupNs: number }> {
  const baselines = await Promise.all(workers.map((worker) => ask(worker, { kind: 'baseline' })));
  const start = now();
  const replies = await Promise.all(workers.map((worker) => new Promise<WorkerReply>((resolve) => {
    worker.once('message', resolve);
    send(worker);
  })));
  const usable = Math.max(...replies.map((reply) => reply.usableAt));
  return {
    ms: usable - start,
    heapPerThreadMiB: replies.map((reply, i) => (reply.heapAfter - (baselines[i]?.heapAfter ?? 0)) / 2 ** 20),
    lookupNs: Math.max(...replies.map((reply) => reply.lookupNs)),
  };
}

/** Runs the pipeline twice on a fresh text (cold, then warm); only the warm snapshot is kept. */
function measurePipeline(userCount: number, gc: () => void): { snapshot: PolicySnapshot; jsonMiB: number; compactJsonMiB: number; cold: Record<string, number>; warm: Record<string, number> } {
  let text: string | null = generatePolicy(userCount);
  const jsonMiB = Buffer.byteLength(text) / 2 ** 20;
  const compactJsonMiB = Buffer.byteLength(JSON.stringify(JSON.parse(text))) / 2 ** 20;
  gc();
  const cold = pipeline(text).ms;
  gc();
  const warm = pipeline(text);
  text = null;
  gc();
  return { snapshot: warm.snapshot, jsonMiB, compactJsonMiB, cold, warm: warm.ms };
}

async function main(): Promise<void> {
  const userCount = Number(process.argv[2] ?? 100_000);
  const gc = forceGc();
  const measured = measurePipeline(userCount, gc);
  const { snapshot } = measured;

  const [, structuredCloneMs] = timed(() => structuredClone(snapshot));
  gc();
  const [ipcClone, ipcCloneMs] = timed(() => v8.deserialize(v8.serialize(snapshot)) as PolicySnapshot);
  gc();
  const [bytes, encodeMs] = timed(() => encodeSnapshot(snapshot));
  const [ipcBytes, ipcBytesMs] = timed(() => v8.deserialize(v8.serialize(bytes)) as Uint8Array);
  const [, decodeMs] = timed(() => decodeSnapshot(bytes));
  gc();

  const workers = Array.from({ length: THREADS }, () => new Worker(fileURLToPath(import.meta.url)));
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('online', resolve))));
  const clone = await deliver(workers, (worker) => worker.postMessage({ kind: 'clone', snapshot: ipcClone } satisfies WorkerRequest));
  const [shared, copyMs] = timed(() => {
    const buffer = new SharedArrayBuffer(ipcBytes.length);
    new Uint8Array(buffer).set(ipcBytes);
    return buffer;
  });
  const viaBytes = await deliver(workers, (worker) => worker.postMessage({ kind: 'bytes', buffer: shared, length: ipcBytes.length } satisfies WorkerRequest));
  await Promise.all(workers.map((worker) => worker.terminate()));

  const result = {
    users: userCount,
    roomsPerUser: ROOMS_PER_USER,
    managedRooms: MANAGED_ROOMS,
    hooks: HOOKS,
    jsonMiB: measured.jsonMiB,
    compactJsonMiB: measured.compactJsonMiB,
    pipelineMs: { cold: measured.cold, warm: measured.warm },
    clone: {
      structuredCloneMs,
      ipcSerializeDeserializeMs: ipcCloneMs,
      postMessageToUsableMs: clone.ms,
      deliveryMs: ipcCloneMs + clone.ms,
      heapPerThreadMiB: clone.heapPerThreadMiB,
      lookupNs: clone.lookupNs,
    },
    bytes: {
      encodedMiB: bytes.length / 2 ** 20,
      encodeMs,
      decodeMs,
      ipcSerializeDeserializeMs: ipcBytesMs,
      copyToSharedMs: copyMs,
      postMessageToUsableMs: viaBytes.ms,
      deliveryMs: encodeMs + ipcBytesMs + copyMs + viaBytes.ms,
      heapPerThreadMiB: viaBytes.heapPerThreadMiB,
      lookupNs: viaBytes.lookupNs,
    },
  };
  const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'policy-compile.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, (_, value: unknown) => (typeof value === 'number' ? Math.round(value * 10) / 10 : value), 2));
}

/** Worker side: keep the received snapshot alive and report when it is usable and what heap it costs. */
function serveWorker(): void {
  const gc = forceGc();
  let kept: PolicySnapshot | null = null;
  const heapUsed = (): number => {
    gc();
    return v8.getHeapStatistics().used_heap_size;
  };
  parentPort?.on('message', (message: WorkerRequest) => {
    const receivedAt = now();
    if (message.kind === 'baseline') {
      kept = null;
      const heap = heapUsed();
      parentPort?.postMessage({ receivedAt, usableAt: receivedAt, heapAfter: heap, users: 0, lookupNs: 0 } satisfies WorkerReply);
      return;
    }
    kept = message.kind === 'clone' ? message.snapshot : decodeSnapshot(new Uint8Array(message.buffer, 0, message.length));
    const usableAt = now();
    const heapAfter = heapUsed();
    const lookupNs = timeLookups(kept);
    parentPort?.postMessage({ receivedAt, usableAt, heapAfter, users: kept.users.size, lookupNs } satisfies WorkerReply);
  });
}

/**
 * Mean ns per `users.get` + one `joinedRooms.has`, for users not looked up before (a first touch:
 * the packed form materialises the user then). A first pass over other users warms the JIT.
 */
function timeLookups(snapshot: PolicySnapshot): number {
  const ids = (offset: number): string[] => Array.from({ length: LOOKUPS }, (_, i) => `@user${(i * 2 + offset) % snapshot.users.size}:${DOMAIN}`);
  const probe = (list: string[]): number => {
    let found = 0;
    for (const id of list) if (snapshot.users.get(id)?.joinedRooms.has(`!room0000:${DOMAIN}`) === true) found += 1;
    return found;
  };
  probe(ids(1));
  const timed = ids(0);
  const start = performance.now();
  probe(timed);
  return ((performance.now() - start) * 1e6) / LOOKUPS;
}

if (isMainThread) await main();
else serveWorker();
