import t from 'tap';
import { AdmissionQueue, AdmissionRefusal } from '../../../src/offload/admission-queue.js';

/** A task the test finishes by hand, recording whether it ever started. */
function manualTask<T>(value: T) {
  let finish!: () => void;
  const gate = new Promise<void>((resolve) => (finish = resolve));
  const task = { started: false, finish, run: async (): Promise<T> => {
    task.started = true;
    await gate;
    return value;
  } };
  return task;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('FIFO: at most `concurrency` run, the rest wait in order', async (t) => {
  const queue = new AdmissionQueue(1, 8);
  const order: number[] = [];
  const tasks = [1, 2, 3].map((n) => manualTask(n));
  const results = tasks.map((task) => queue.run(async () => {
    const value = await task.run();
    order.push(value);
    return value;
  }));
  await tick();
  t.same([queue.running, queue.size], [1, 2]);
  t.same(tasks.map((task) => task.started), [true, false, false]);
  for (const task of tasks) task.finish();
  t.same(await Promise.all(results), [1, 2, 3]);
  t.same(order, [1, 2, 3]);
  t.same([queue.running, queue.size], [0, 0]);
});

t.test('a full line refuses at once', async (t) => {
  const queue = new AdmissionQueue(1, 1);
  const running = manualTask('a');
  const first = queue.run(running.run);
  const second = queue.run(async () => 'b');
  await t.rejects(queue.run(async () => 'c'), new AdmissionRefusal('full'));
  running.finish();
  t.same(await Promise.all([first, second]), ['a', 'b']);
});

t.test('a waiting task whose signal aborts leaves the line and never runs', async (t) => {
  const queue = new AdmissionQueue(1, 4);
  const running = manualTask('running');
  const held = queue.run(running.run);
  const abandoned = manualTask('abandoned');
  const controller = new AbortController();
  const waiting = queue.run(abandoned.run, { signal: controller.signal });
  const next = queue.run(async () => 'next');
  t.equal(queue.size, 2);
  controller.abort();
  await t.rejects(waiting, { name: 'AdmissionRefusal', reason: 'aborted' }, 'rejects at once, while the slot is still taken');
  t.equal(queue.size, 1, 'its place is given up');
  running.finish();
  t.same(await Promise.all([held, next]), ['running', 'next'], 'the next task takes the slot');
  t.equal(abandoned.started, false, 'the abandoned task never ran');
});

t.test('an already aborted signal is refused without queueing', async (t) => {
  const queue = new AdmissionQueue(1, 4);
  let ran = false;
  await t.rejects(queue.run(async () => (ran = true), { signal: AbortSignal.abort() }), { name: 'AdmissionRefusal', reason: 'aborted' });
  t.equal(ran, false);
  t.same([queue.running, queue.size], [0, 0]);
});

t.test('a running task whose signal aborts finishes; the caller gets `aborted` only then, and the slot is held until then', async (t) => {
  const queue = new AdmissionQueue(1, 4);
  const running = manualTask('result');
  const controller = new AbortController();
  let settled = false;
  const result = queue.run(running.run, { signal: controller.signal }).finally(() => (settled = true));
  const next = manualTask('next');
  const after = queue.run(next.run);
  await tick();
  controller.abort();
  await tick();
  t.equal(settled, false, 'not settled while the task still runs');
  t.equal(queue.running, 1);
  t.equal(next.started, false, 'the slot is not given away while the task runs');
  running.finish();
  await t.rejects(result, { name: 'AdmissionRefusal', reason: 'aborted' }, 'the result is dropped');
  next.finish();
  t.equal(await after, 'next');
});

t.test('a task that waits longer than maxWaitMs is refused as expired and never runs', async (t) => {
  const queue = new AdmissionQueue(1, 4);
  const running = manualTask('slow');
  const held = queue.run(running.run);
  const late = manualTask('late');
  const started = performance.now();
  await t.rejects(queue.run(late.run, { maxWaitMs: 50 }), { name: 'AdmissionRefusal', reason: 'expired' });
  t.ok(performance.now() - started >= 45, 'after about maxWaitMs');
  t.equal(queue.size, 0);
  running.finish();
  await held;
  t.equal(late.started, false);
});

t.test('maxWaitMs does not bound a task that started in time', async (t) => {
  const queue = new AdmissionQueue(1, 4);
  const running = manualTask('long');
  const result = queue.run(running.run, { maxWaitMs: 10 });
  await new Promise((resolve) => setTimeout(resolve, 40));
  running.finish();
  t.equal(await result, 'long');
});

t.test('a failing task frees its slot', async (t) => {
  const queue = new AdmissionQueue(1, 4);
  const failing = queue.run(async () => {
    throw new Error('boom');
  });
  const next = queue.run(async () => 'next');
  await t.rejects(failing, { message: 'boom' });
  t.equal(await next, 'next');
});

t.test('CPU-bound tasks: at most `cpuConcurrency` at once; other tasks overtake them while they wait', async (t) => {
  const queue = new AdmissionQueue(4, 8, 1);
  const [hashA, hashB, rest] = [manualTask('a'), manualTask('b'), manualTask('rest')];
  const a = queue.run(hashA.run, { cpuBound: true });
  const b = queue.run(hashB.run, { cpuBound: true });
  await tick();
  t.same([queue.running, queue.cpuRunning, queue.size], [1, 1, 1], 'the second hash waits for the CPU slot');
  const r = queue.run(rest.run);
  await tick();
  t.same([rest.started, hashB.started], [true, false], 'an I/O task starts at once, ahead of the waiting hash');
  rest.finish();
  t.equal(await r, 'rest');
  t.equal(hashB.started, false, 'a freed general slot does not start a hash while the CPU slot is taken');
  hashA.finish();
  t.equal(await a, 'a');
  await tick();
  t.same([hashB.started, queue.cpuRunning, queue.size], [true, 1, 0], 'the freed CPU slot goes to the waiting hash');
  hashB.finish();
  t.equal(await b, 'b');
  t.same([queue.running, queue.cpuRunning], [0, 0]);
});

t.test('waiting CPU-bound tasks count toward maxQueue', async (t) => {
  const queue = new AdmissionQueue(4, 1, 1);
  const running = manualTask(1);
  const first = queue.run(running.run, { cpuBound: true });
  const waiting = queue.run(async () => 2, { cpuBound: true });
  await t.rejects(queue.run(async () => 3, { cpuBound: true }), new AdmissionRefusal('full'));
  running.finish();
  t.same(await Promise.all([first, waiting]), [1, 2]);
});
