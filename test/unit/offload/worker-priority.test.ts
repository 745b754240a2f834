import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createSilentLogger } from '../../../src/common/logger.js';
import { createOffloadPool } from '../../../src/offload/pool.js';

/** A thread's `/proc` stat fields from field 3 (state) on: field N is at index N - 3. */
function statFields(tid: string): string[] {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Nice value (field 19) and scheduling policy (field 41; 0 = SCHED_OTHER, 5 = SCHED_IDLE) of every thread of this process. */
function threads(): Array<{ nice: number; policy: number }> {
  return readdirSync('/proc/self/task').map((tid) => {
    const fields = statFields(tid);
    return { nice: Number(fields[16]), policy: Number(fields[38]) };
  });
}

const SCHED_OTHER = 0;
const SCHED_IDLE = 5;
/** Where the pool finds util-linux `chrt` (src/offload/tasks.ts); the machine decides which branch this test takes. */
const hasChrt = ['/usr/bin/chrt', '/bin/chrt'].some((path) => existsSync(path));

t.test(`pool workers yield the CPU (${hasChrt ? 'SCHED_IDLE' : '10 nicer'}), every other thread keeps its priority`, async (t) => {
  const base = threads()[0]!;
  t.ok(threads().every((thread) => thread.nice === base.nice && thread.policy === SCHED_OTHER), 'all threads alike before the pool');
  const pool = createOffloadPool({ Threads: 2, MaxQueue: 4, ConcurrentTasksPerWorker: 1 }, { logger: createSilentLogger() });
  t.teardown(() => pool.close());
  await Promise.all([pool.run('ping', {}), pool.run('ping', {})]);
  const after = threads();
  const lowered = hasChrt
    ? after.filter((thread) => thread.policy === SCHED_IDLE)
    : after.filter((thread) => thread.nice === Math.min(19, base.nice + 10));
  t.equal(lowered.length, 2, 'the two workers');
  t.equal(after.filter((thread) => thread.nice === base.nice && thread.policy === SCHED_OTHER).length, after.length - 2, 'the rest, this thread included');
});

t.test('a normal-priority pool (hook consultations) keeps its workers at the thread\'s priority', async (t) => {
  const base = threads()[0]!;
  const before = threads().length;
  const pool = createOffloadPool({ Threads: 2, MaxQueue: 4, ConcurrentTasksPerWorker: 1 }, { logger: createSilentLogger(), priority: 'normal' });
  t.teardown(() => pool.close());
  await Promise.all([pool.run('ping', {}), pool.run('ping', {})]);
  const after = threads();
  t.ok(after.length >= before + 2, 'the two workers are running');
  t.equal(after.filter((thread) => thread.policy !== SCHED_OTHER || thread.nice !== base.nice).length, 0, 'no thread was lowered');
});
