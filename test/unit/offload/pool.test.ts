import t, { type Test } from 'tap';
import { threadId as mainThreadId } from 'node:worker_threads';
import { hashSync } from 'bcryptjs';
import type { OffloadConfig } from '../../../src/common/config/types.js';
import { createOffloadPool, OFFLOAD_ABORTED, OFFLOAD_BUSY, OFFLOAD_CLOSED, OFFLOAD_TASK_FAILED, OFFLOAD_WAIT_EXPIRED, type OffloadPool } from '../../../src/offload/pool.js';
import type { TaskKind } from '../../../src/offload/task-types.js';
import { createSilentLogger } from '../../../src/common/logger.js';

/** Synapse's Python bcrypt, "pw" at cost 4. */
const PW_HASH = '$2b$04$Y8GYpjJiqPm2bJ7xsO6r8ejZIZQQOeU/Z6vP4DtjrGkfBG7BKY17e';
/** A hash expensive enough (cost 10) that tasks pile up while it runs. */
const SLOW_HASH = hashSync('slow', 10);
const logger = createSilentLogger();

function pool(t: Test, config: Partial<OffloadConfig> = {}, retryAfterSeconds?: number): OffloadPool {
  const created = createOffloadPool(
    { Threads: 1, MaxQueue: 16, ConcurrentTasksPerWorker: 4, ...config },
    retryAfterSeconds === undefined ? { logger } : { logger, retryAfterSeconds },
  );
  t.teardown(() => created.close());
  return created;
}

function slowCheck(offload: OffloadPool, signal?: AbortSignal) {
  return offload.run('verifyPassword', { authType: 'bcrypt', credential: SLOW_HASH, password: 'slow', userId: '@a:x', restTimeoutMs: 1000 }, { signal });
}

t.test('tasks run in the pool\'s worker threads', async (t) => {
  const offload = pool(t, { Threads: 2 });
  const answers = await Promise.all(Array.from({ length: 8 }, () => offload.run('ping', {})));
  const poolThreadIds = offload.threads.map((worker) => worker.threadId);
  t.equal(poolThreadIds.length, 2, 'Threads workers are started');
  for (const answer of answers) {
    t.equal(answer.ok, true);
    if (answer.ok) {
      t.not(answer.value.threadId, mainThreadId, 'not on the calling thread');
      t.ok(poolThreadIds.includes(answer.value.threadId), 'on one of the pool\'s workers');
    }
  }
});

t.test('verifyPassword through the pool', async (t) => {
  const offload = pool(t);
  const input = { authType: 'bcrypt' as const, credential: PW_HASH, userId: '@a:x', restTimeoutMs: 1000 };
  t.same(await offload.run('verifyPassword', { ...input, password: 'pw' }), { ok: true, value: { authenticated: true } });
  t.same(await offload.run('verifyPassword', { ...input, password: 'nope' }), { ok: true, value: { authenticated: false } });
  t.match(await offload.run('verifyPassword', { ...input, credential: 'garbage', password: 'pw' }), { ok: false, code: 'invalid-credential' }, 'expected failures come back as values with their code');
});

t.test('a full queue rejects at once with the busy error', async (t) => {
  const offload = pool(t, { Threads: 1, ConcurrentTasksPerWorker: 1, MaxQueue: 1 }, 7);
  // Submitted in one tick: at most one task runs (or waits for the starting worker) and one is queued.
  const settled = await Promise.allSettled(Array.from({ length: 8 }, () => slowCheck(offload)));
  const accepted = settled.filter((s) => s.status === 'fulfilled');
  const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  t.ok(accepted.length >= 1 && accepted.length <= 3, `a bounded number of tasks were accepted (${accepted.length})`);
  t.equal(accepted.length + refused.length, 8);
  for (const result of accepted) t.same(result.value, { ok: true, value: { authenticated: true } }, 'accepted tasks complete');
  for (const result of refused) {
    t.match(result.reason, { name: 'CorporalError', code: OFFLOAD_BUSY, status: 503, source: 'internal', retryable: true, retryAfterSeconds: 7 });
  }
});

t.test('MaxQueue 0: busy as soon as every worker slot is taken', async (t) => {
  const offload = pool(t, { Threads: 1, ConcurrentTasksPerWorker: 1, MaxQueue: 0 });
  await offload.run('ping', {}); // the worker is up, so no start-up capacity is left
  const settled = await Promise.allSettled([slowCheck(offload), slowCheck(offload), slowCheck(offload)]);
  t.equal(settled[0]?.status, 'fulfilled', 'the first task takes the only slot');
  t.match(settled[1], { status: 'rejected', reason: { code: OFFLOAD_BUSY, retryAfterSeconds: 1 } });
  t.match(settled[2], { status: 'rejected', reason: { code: OFFLOAD_BUSY } });
});

t.test('close() ends every worker thread and refuses further work', async (t) => {
  const offload = createOffloadPool({ Threads: 2, MaxQueue: 16, ConcurrentTasksPerWorker: 2 }, { logger });
  await Promise.all([offload.run('ping', {}), offload.run('ping', {})]);
  const workers = [...offload.threads];
  t.equal(workers.length, 2);
  const exited = workers.map((worker) => new Promise<number>((resolve) => worker.once('exit', resolve)));
  const inFlight = t.rejects(slowCheck(offload), { code: OFFLOAD_CLOSED, status: 503 }, 'a task running at close is rejected as closed');
  await offload.close();
  await Promise.all(exited);
  for (const worker of workers) t.equal(worker.threadId, -1, 'the thread is gone');
  t.equal(offload.threads.length, 0);
  await inFlight;
  await t.rejects(offload.run('ping', {}), { code: OFFLOAD_CLOSED, status: 503 });
  await offload.close(); // idempotent
});

t.test('an unknown task kind is a bug: it rejects as a failed task', async (t) => {
  const offload = pool(t);
  await t.rejects(offload.run('noSuchTask' as TaskKind, {} as never), { code: OFFLOAD_TASK_FAILED, status: 500 });
  t.same(await offload.run('ping', {}).then((r) => r.ok), true, 'the pool keeps working');
});

t.test('a queued task whose signal aborts is dropped unrun; a running one finishes and its result is dropped', async (t) => {
  const offload = pool(t, { Threads: 1, ConcurrentTasksPerWorker: 1, MaxQueue: 4 });
  await offload.run('ping', {});
  const runningClient = new AbortController();
  const queuedClient = new AbortController();
  const running = slowCheck(offload, runningClient.signal);
  const queued = slowCheck(offload, queuedClient.signal);
  t.equal(offload.queueSize, 1, 'the second check waits');
  queuedClient.abort();
  t.equal(offload.queueSize, 0, 'the abandoned check left the queue at once');
  await t.rejects(queued, { name: 'CorporalError', code: OFFLOAD_ABORTED });
  runningClient.abort();
  await t.rejects(running, { code: OFFLOAD_ABORTED }, 'the running check is not interrupted, its result is dropped');
  t.same(await offload.run('ping', {}).then((r) => r.ok), true, 'the worker survived');
});

t.test('abandoned checks do not hold the queue: a check sent after them runs next', async (t) => {
  const offload = pool(t, { Threads: 1, ConcurrentTasksPerWorker: 1, MaxQueue: 16 });
  await offload.run('ping', {});
  const first = slowCheck(offload);
  const clients = Array.from({ length: 16 }, () => new AbortController());
  const abandoned = clients.map((client) => slowCheck(offload, client.signal).catch((err: unknown) => err));
  t.equal(offload.queueSize, 16, 'sixteen checks wait behind the running one');
  for (const client of clients) client.abort();
  t.equal(offload.queueSize, 0, 'all sixteen left the queue when their clients left');
  const legit = slowCheck(offload);
  t.equal(offload.queueSize, 1, 'a check sent after them waits only behind the running one');
  t.same(await legit, { ok: true, value: { authenticated: true } }, 'and runs');
  for (const err of await Promise.all(abandoned)) t.match(err, { code: OFFLOAD_ABORTED });
  await first;
});

t.test('bcrypt checks run one per worker at a time, whatever ConcurrentTasksPerWorker; other tasks do not wait for them', async (t) => {
  const offload = pool(t, { Threads: 1, ConcurrentTasksPerWorker: 32, MaxQueue: 2 });
  await offload.run('ping', {});
  const settled = Promise.allSettled(Array.from({ length: 6 }, () => slowCheck(offload)));
  t.equal(offload.queueSize, 2, 'one hash runs, MaxQueue wait: the bounds apply to hashes');
  const ping = await offload.run('ping', {});
  t.equal(ping.ok, true, 'a ping runs beside the hash, without waiting');
  t.equal(offload.queueSize, 2, 'while the hashes still wait');
  const results = await settled;
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
  for (const r of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) t.match(r.reason, { code: OFFLOAD_BUSY });
});

t.test('a task that waits longer than maxWaitMs is refused with the wait-expired error', async (t) => {
  const offload = pool(t, { Threads: 1, ConcurrentTasksPerWorker: 1, MaxQueue: 4 });
  await offload.run('ping', {});
  const running = slowCheck(offload);
  await t.rejects(
    offload.run('verifyPassword', { authType: 'bcrypt', credential: SLOW_HASH, password: 'slow', userId: '@a:x', restTimeoutMs: 1000 }, { maxWaitMs: 1 }),
    { name: 'CorporalError', code: OFFLOAD_WAIT_EXPIRED, status: 503, retryable: true },
  );
  t.same(await running, { ok: true, value: { authenticated: true } });
});
