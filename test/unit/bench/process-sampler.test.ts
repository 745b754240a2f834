import t from 'tap';
import { cpuSeconds, ProcessSampler, rssMiB } from '../../../bench/support/process-sampler.js';

/** Spins until this process has used `seconds` more CPU time (by Node's own count). */
function burnCpu(seconds: number): number {
  const start = process.cpuUsage();
  let used = 0;
  while (used < seconds) {
    const now = process.cpuUsage(start);
    used = (now.user + now.system) / 1e6;
  }
  return used;
}

t.test('cpuSeconds follows the CPU time Node reports for the same process', async (t) => {
  const before = cpuSeconds(process.pid);
  t.ok(before > 0, 'a running process has used some CPU time');
  const used = burnCpu(0.3);
  const measured = cpuSeconds(process.pid) - before;
  // /proc counts in 10 ms ticks: allow a few ticks either way.
  t.ok(Math.abs(measured - used) <= 0.05, `measured ${measured.toFixed(2)} s for ${used.toFixed(2)} s used`);
});

t.test('an unknown process reads as NaN, not as zero', async (t) => {
  t.ok(Number.isNaN(cpuSeconds(2 ** 30)));
  t.ok(Number.isNaN(rssMiB(2 ** 30)));
});

t.test('the sampler reports RSS and the CPU time used while it ran', async (t) => {
  const sampler = new ProcessSampler(process.pid);
  const used = burnCpu(0.2);
  const usage = sampler.stop();
  t.ok(usage.startMiB > 0 && usage.peakMiB >= usage.startMiB);
  t.equal(usage.growthMiB, usage.peakMiB - usage.startMiB);
  t.ok(Math.abs(usage.cpuSeconds - used) <= 0.05, `sampled ${usage.cpuSeconds.toFixed(2)} s for ${used.toFixed(2)} s used`);
});
