import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { createSilentLogger } from '../../../src/common/logger.js';
import { createOffloadPool } from '../../../src/offload/pool.js';

/** Nice value of a thread of this process (Linux /proc; fails loudly elsewhere). */
function niceOf(tid: string): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  // Fields after "(comm) ": state is field 3, nice is field 19.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map(niceOf);
}

t.test('pool workers run 10 nicer than the thread that made them, every other thread keeps its priority', async (t) => {
  const base = niceOf(String(process.pid));
  const lowered = Math.min(19, base + 10);
  t.ok(threadNiceValues().every((nice) => nice === base), 'all threads at the main thread\'s nice value before the pool');
  const pool = createOffloadPool({ Threads: 2, MaxQueue: 4, ConcurrentTasksPerWorker: 1 }, { logger: createSilentLogger() });
  t.teardown(() => pool.close());
  await Promise.all([pool.run('ping', {}), pool.run('ping', {})]);
  const after = threadNiceValues();
  t.equal(after.filter((nice) => nice === lowered).length, 2, 'the two workers');
  t.equal(after.filter((nice) => nice === base).length, after.length - 2, 'the rest, this thread included');
});
